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
