'use strict';

// 3xx answers to the upgrade: terminal ERR_HANDSHAKE_REJECTED with the
// status and .headers.location by default (no retry loop); followed when asked, up to the limit,
// never from wss:// down to ws://, with credentials only within the origin.

const { startWsServer, startTlsWsServer } = require('../helpers/servers');
const { makeCerts, opensslAvailable } = require('../helpers/certs');
const { makeTracker } = require('../helpers/tracker');
const { onceWithin } = require('../helpers/deadline');

const t = makeTracker();
afterEach(() => t.cleanup());

const FAST = { initialDelay: 10, maxDelay: 30 };
const redirectTo = (location, status = 302) => ({ reject: () => ({ status, headers: { Location: location } }) });

function count(sock, event) {
  const seen = [];
  sock.on(event, (e) => seen.push(e));
  return seen;
}

test('by default a redirect is terminal: ERR_HANDSHAKE_REJECTED with status and location, one attempt', async () => {
  const target = t.add(await startWsServer());
  const origin = t.add(await startWsServer(redirectTo(target.urlFor('/moved'), 301)));
  const sock = t.socket(origin.url, { reconnect: FAST });
  const attempts = count(sock, 'connecting');
  const [{ error }] = await onceWithin(sock, 'failed', 5000);
  expect(error.code).toBe('ERR_HANDSHAKE_REJECTED');
  expect(error.status).toBe(301);
  expect(error.headers.location).toBe(target.urlFor('/moved'));
  expect(error.message).toMatch(/followRedirects/);
  expect(attempts).toHaveLength(1);
  expect(target.handshakes).toHaveLength(0);
});

test('followRedirects: the Location is followed at once; credentials do not cross origins', async () => {
  const target = t.add(await startWsServer());
  const origin = t.add(await startWsServer(redirectTo(target.urlFor('/moved?x=1'), 307)));
  const sock = t.socket(origin.url.replace('ws://', 'ws://alice:pw@'), {
    followRedirects: 3,
    headers: { Authorization: 'Bearer token-for-origin', 'X-Api-Key': 'k3y' },
  });
  const [open] = await onceWithin(sock, 'open', 5000);
  expect(open.url).toBe(target.urlFor('/moved'));      // display: no query values, no credentials
  expect(open.attempt).toBe(1);                         // a followed redirect continues the attempt
  expect(origin.handshakes[0].headers.authorization).toBe('Bearer token-for-origin');
  const moved = target.handshakes[0];
  expect(moved.url).toBe('/moved?x=1');
  expect(moved.headers.authorization).toBeUndefined();  // neither the header nor the URL's user info
  expect(moved.headers['x-api-key']).toBeUndefined();   // any configured header may be a credential
});

test('within one origin the credentials stay', async () => {
  let first = true;
  const server = t.add(await startWsServer({
    reject: (req) => {
      if (!first) return null;
      first = false;
      return { status: 302, headers: { Location: '/elsewhere' } };
    },
  }));
  const sock = t.socket(server.url, { followRedirects: 1, headers: { Authorization: 'Bearer same-origin' } });
  await onceWithin(sock, 'open', 5000);
  expect(server.handshakes.map((h) => [h.url, h.headers.authorization])).toEqual([
    ['/', 'Bearer same-origin'],
    ['/elsewhere', 'Bearer same-origin'],
  ]);
});

test('a redirect loop stops at the limit with a terminal error', async () => {
  const server = t.add(await startWsServer(redirectTo('/again')));
  const sock = t.socket(server.url, { followRedirects: 2, reconnect: FAST });
  const [{ error }] = await onceWithin(sock, 'failed', 5000);
  expect(error.code).toBe('ERR_HANDSHAKE_REJECTED');
  expect(error.message).toMatch(/after 2 redirects/);
  expect(server.handshakes).toHaveLength(3);
});

test('never from wss:// down to ws://', async () => {
  if (!(await opensslAvailable())) return;
  const certs = await makeCerts();
  try {
    const plain = t.add(await startWsServer());
    const secure = t.add(await startTlsWsServer({ cert: certs.valid.cert, key: certs.valid.key, ...redirectTo(plain.url) }));
    const sock = t.socket(secure.url, { followRedirects: 5, tls: { ca: certs.ca.cert }, reconnect: FAST });
    const [{ error }] = await onceWithin(sock, 'failed', 5000);
    expect(error.code).toBe('ERR_HANDSHAKE_REJECTED');
    expect(error.message).toMatch(/down to an unencrypted ws:\/\//);
    expect(plain.handshakes).toHaveLength(0);
  } finally {
    certs.cleanup();
  }
});

test('a redirect from ws:// up to wss:// is followed (TLS is ready even though no URL was wss://)', async () => {
  if (!(await opensslAvailable())) return;
  const certs = await makeCerts();
  try {
    const secure = t.add(await startTlsWsServer({ cert: certs.valid.cert, key: certs.valid.key }));
    const plain = t.add(await startWsServer(redirectTo(secure.url)));
    const sock = t.socket(plain.url, { followRedirects: 1, tls: { ca: certs.ca.cert } });
    const [open] = await onceWithin(sock, 'open', 5000);
    expect(open.url).toBe(secure.url);
    expect(secure.handshakes).toHaveLength(1);
  } finally {
    certs.cleanup();
  }
});

test('a query that is all token is masked whole in url and events', async () => {
  const server = t.add(await startWsServer());
  const sock = t.socket(`${server.url}?S3CRETTOKEN&room=7`);
  const [open] = await onceWithin(sock, 'open', 5000);
  expect(open.url).toBe(`${server.url}?***&room=***`);
  expect(server.handshakes[0].url).toBe('/?S3CRETTOKEN&room=7');
});
