'use strict';

// TLS against a real HTTPS `ws` server with throwaway certificates:
// a valid chain opens; self-signed, wrong-host and expired certificates end in one 'failed'
// with ERR_TLS_VERIFY and OpenSSL's reason, after exactly one attempt (no retry storm).

const { startTlsWsServer } = require('../helpers/servers');
const { makeCerts, opensslAvailable } = require('../helpers/certs');
const { withDeadline } = require('../helpers/deadline');
const { makeTracker, recordEvents, next } = require('./support');

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

afterAll(() => {
  if (certs) certs.cleanup();
});
afterEach(() => t.cleanup());

const maybe = (name, fn) => test(name, async () => {
  if (skip) return;
  await fn();
});

maybe('a certificate issued by the trusted CA opens, and echoes work over TLS', async () => {
  const server = t.add(await startTlsWsServer({ cert: certs.valid.cert, key: certs.valid.key }));
  const sock = t.socket(server.url, { tls: { ca: certs.ca.cert } });
  const open = await next(sock, 'open');
  expect(open.url).toBe(server.url);
  const echoed = next(sock, 'message');
  await withDeadline(sock.send('over tls'), 5000, 'receipt');
  expect(await echoed).toBe('over tls');
  expect(server.tlsErrors).toEqual([]);
});

const rejected = [
  ['a self-signed certificate', () => certs.selfSigned, /self[- ]signed/i],
  ['a certificate for another host', () => certs.wrongHost, /hostname mismatch/i],
  ['an expired certificate', () => certs.expired, /certificate has expired/i],
];

describe.each(rejected)('%s', (label, pair, reasonPattern) => {
  maybe('fails with ERR_TLS_VERIFY and the reason, after exactly one attempt', async () => {
    const server = t.add(await startTlsWsServer({ cert: pair().cert, key: pair().key }));
    // Fast retries: if verification failures were retried, several attempts would show up.
    const sock = t.socket(server.url, {
      tls: { ca: certs.ca.cert },
      reconnect: { initialDelay: 10, maxDelay: 20 },
    });
    const log = recordEvents(sock);
    const closed = next(sock, 'close'); // arrives in the same batch as 'failed'
    const { error } = await next(sock, 'failed');
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe('ERR_TLS_VERIFY');
    expect(typeof error.reason).toBe('string');
    expect(error.reason).toMatch(reasonPattern);
    await closed;
    expect(sock.state).toBe('failed');
    expect(log.filter(([name]) => name === 'connecting')).toHaveLength(1);
    expect(log.filter(([name]) => name === 'reconnecting')).toHaveLength(0);
    expect(log.filter(([name]) => name === 'open')).toHaveLength(0);
    expect(server.connections).toHaveLength(0);
  });
});

maybe('rejectUnauthorized: false connects to a self-signed server', async () => {
  const server = t.add(await startTlsWsServer({ cert: certs.selfSigned.cert, key: certs.selfSigned.key }));
  const sock = t.socket(server.url, { tls: { rejectUnauthorized: false } });
  await next(sock, 'open');
  const echoed = next(sock, 'message');
  await withDeadline(sock.send('insecure but on purpose'), 5000, 'receipt');
  expect(await echoed).toBe('insecure but on purpose');
});
