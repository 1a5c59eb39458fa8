'use strict';

// TLS session resumption on reconnect (fewer full handshakes after a blip): after the server
// drops the connection, the reconnect resumes the session the server issued — seen from the
// server's side with TLSSocket.isSessionReused() — for TLS 1.3 tickets and TLS 1.2 sessions.
// A server that refuses resumption still gets a working (full) handshake.

const { startTlsWsServer } = require('../helpers/servers');
const { makeCerts, opensslAvailable } = require('../helpers/certs');
const { makeTracker, next } = require('./support');

const t = makeTracker();
let certs = null;
let skip = false;

beforeAll(async () => {
  if (!(await opensslAvailable())) {
    skip = true;
    console.log('SKIP: TLS tests need the openssl CLI (apt-get install openssl)');
    return;
  }
  certs = await makeCerts();
}, 30000);
afterAll(() => certs && certs.cleanup());
afterEach(() => t.cleanup());

/** Opens, lets the server drop the connection twice, and returns isSessionReused() per connection. */
async function reusedPerConnection(serverOptions) {
  const reused = [];
  const server = t.add(await startTlsWsServer({
    cert: certs.valid.cert,
    key: certs.valid.key,
    tlsOptions: serverOptions,
    onConnection: (ws, req) => reused.push(req.socket.isSessionReused()),
  }));
  const sock = t.socket(server.url, { tls: { ca: certs.ca.cert }, reconnect: { initialDelay: 10, maxDelay: 20 } });
  await next(sock, 'open');
  // TLS 1.3 tickets arrive after the handshake: one round trip makes sure the client read them.
  const echoed = next(sock, 'message');
  await sock.send('ticket?');
  await echoed;
  for (let i = 0; i < 2; i++) {
    server.terminateAll();
    await next(sock, 'open');
    const again = next(sock, 'message');
    await sock.send('again');
    await again;
  }
  return reused;
}

test.each([['TLS 1.3', 'TLSv1.3'], ['TLS 1.2', 'TLSv1.2']])('%s: every reconnect resumes the session', async (label, version) => {
  if (skip) return;
  const reused = await reusedPerConnection({ minVersion: version, maxVersion: version });
  expect(reused).toEqual([false, true, true]);
});

test('a server that refuses resumption gets full handshakes, and the reconnects still work', async () => {
  if (skip) return;
  // No tickets and no session cache on the server (TLS 1.2: nothing to resume).
  const reused = await reusedPerConnection({ maxVersion: 'TLSv1.2', sessionTimeout: 0, secureOptions: require('constants').SSL_OP_NO_TICKET });
  expect(reused).toEqual([false, false, false]);
});

// Sockets with equal TLS settings share one TLS context, so its session cache too: a fleet of
// sockets to one service pays one full handshake, and the rest resume. Settings that change the
// verification (here rejectUnauthorized) get a context of their own, never another's sessions.
describe('across sockets', () => {
  /**
   * Opens `first`, lets it collect its tickets, then opens `second` (to the URL `secondUrl` makes
   * of the server's port, by default the same): isSessionReused() of each.
   */
  async function reusedByTwoSockets(firstOptions, secondOptions, secondUrl = (port, url) => url) {
    const reused = [];
    const server = t.add(await startTlsWsServer({
      cert: certs.valid.cert,
      key: certs.valid.key,
      onConnection: (ws, req) => reused.push(req.socket.isSessionReused()),
    }));
    const first = t.socket(server.url, firstOptions);
    await next(first, 'open');
    const echoed = next(first, 'message');
    await first.send('ticket?');
    await echoed;
    // While the first still holds the context.
    const second = t.socket(secondUrl(server.port, server.url), secondOptions);
    await next(second, 'open');
    return reused;
  }

  test('a second socket with the same TLS options resumes the session the first one got', async () => {
    if (skip) return;
    const options = () => ({ tls: { ca: certs.ca.cert } });  // equal, not the same object
    expect(await reusedByTwoSockets(options(), options())).toEqual([false, true]);
  });

  test('two servers on one host keep their own sessions (kept per host and port)', async () => {
    if (skip) return;
    const reusedAt = { a: [], b: [] };
    const start = (name) => startTlsWsServer({
      cert: certs.valid.cert,
      key: certs.valid.key,
      onConnection: (ws, req) => reusedAt[name].push(req.socket.isSessionReused()),
    });
    const a = t.add(await start('a'));
    const b = t.add(await start('b'));
    const options = { tls: { ca: certs.ca.cert } };
    // Each socket collects its tickets (one round trip) before the next one opens.
    for (const url of [a.url, b.url, a.url]) {
      const sock = t.socket(url, options);
      await next(sock, 'open');
      const echoed = next(sock, 'message');
      await sock.send('ticket?');
      await echoed;
    }
    // b's session did not replace a's: the second socket to a resumes.
    expect(reusedAt).toEqual({ a: [false, true], b: [false] });
  });

  test('the same server under another name (the certificate names both) is not offered the session', async () => {
    if (skip) return;
    const options = () => ({ tls: { ca: certs.ca.cert } });
    const reused = await reusedByTwoSockets(options(), options(), (port) => `wss://127.0.0.1:${port}/`);
    expect(reused).toEqual([false, false]);
  });

  test('a socket with other TLS settings does not resume it', async () => {
    if (skip) return;
    const reused = await reusedByTwoSockets({ tls: { ca: certs.ca.cert } }, { tls: { ca: certs.ca.cert, rejectUnauthorized: false } });
    expect(reused).toEqual([false, false]);
  });
});
