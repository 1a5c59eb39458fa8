'use strict';

// Through a real HTTP proxy (Debian's tinyproxy): ws:// and wss:// tunnel with CONNECT (TLS to
// the origin inside the tunnel, SNI and verification against the origin), proxy credentials,
// the HTTP(S)_PROXY / NO_PROXY environment, and proxy failures: 407 is terminal
// (ERR_PROXY_AUTH), an unreachable proxy or a refused tunnel is retried (ERR_PROXY).

const { startWsServer, startTlsWsServer } = require('../helpers/servers');
const { makeCerts, opensslAvailable } = require('../helpers/certs');
const { startTinyproxy, tinyproxyUnavailable } = require('../helpers/tinyproxy');
const { makeTracker } = require('../helpers/tracker');
const { onceWithin } = require('../helpers/deadline');

const why = tinyproxyUnavailable();
if (why) console.log(`proxy tests skipped: ${why}`);
const maybe = why ? test.skip : test;

const t = makeTracker();
const savedEnv = { ...process.env };
afterEach(async () => {
  for (const name of ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'NO_PROXY', 'no_proxy']) {
    if (savedEnv[name] === undefined) delete process.env[name];
    else process.env[name] = savedEnv[name];
  }
  await t.cleanup();
});

const FAST = { initialDelay: 10, maxDelay: 30 };

async function roundTrip(sock) {
  await onceWithin(sock, 'open', 5000);
  const echoed = onceWithin(sock, 'message', 5000);
  await sock.send('through the tunnel');
  expect((await echoed)[0]).toBe('through the tunnel');
}

maybe('ws:// through the proxy option: CONNECT to the origin, then the upgrade inside the tunnel', async () => {
  const proxy = t.add(await startTinyproxy());
  const server = t.add(await startWsServer());
  const sock = t.socket(server.url, { proxy: proxy.url });
  await roundTrip(sock);
  expect(proxy.connects()).toEqual([`127.0.0.1`]);
  expect(proxy.log()).toContain(`CONNECT 127.0.0.1:${server.port} HTTP/1.1`);
});

maybe('wss:// through the proxy: TLS to the origin inside the tunnel, verified against the origin', async () => {
  if (!(await opensslAvailable())) return;
  const certs = await makeCerts();
  try {
    const proxy = t.add(await startTinyproxy());
    const server = t.add(await startTlsWsServer({ cert: certs.valid.cert, key: certs.valid.key }));
    const sock = t.socket(server.url, { proxy: proxy.url, tls: { ca: certs.ca.cert } });
    await roundTrip(sock);
    expect(proxy.log()).toContain(`CONNECT localhost:${server.port} HTTP/1.1`);
    // The proxy only sees the tunnel: a certificate for another host still fails verification.
    const wrong = t.add(await startTlsWsServer({ cert: certs.wrongHost.cert, key: certs.wrongHost.key }));
    const refused = t.socket(wrong.url, { proxy: proxy.url, tls: { ca: certs.ca.cert }, reconnect: FAST });
    const [{ error }] = await onceWithin(refused, 'failed', 5000);
    expect(error.code).toBe('ERR_TLS_VERIFY');
  } finally {
    certs.cleanup();
  }
});

maybe('proxy credentials: right ones open; missing or wrong ones end in ERR_PROXY_AUTH after one attempt', async () => {
  const proxy = t.add(await startTinyproxy({ user: 'alice', password: 'pa55word' }));
  const server = t.add(await startWsServer());
  const ok = t.socket(server.url, { proxy: `http://alice:pa55word@127.0.0.1:${proxy.port}` });
  await roundTrip(ok);
  for (const url of [proxy.url, `http://alice:wrong-pa55@127.0.0.1:${proxy.port}`]) {
    const sock = t.socket(server.url, { proxy: url, reconnect: FAST });
    let attempts = 0;
    sock.on('connecting', () => attempts++);
    const [{ error }] = await onceWithin(sock, 'failed', 5000);
    expect(error.code).toBe('ERR_PROXY_AUTH');
    expect([401, 407]).toContain(error.status); // tinyproxy: 407 without credentials, 401 for wrong ones
    expect(error.message).not.toContain('pa55');
    expect(attempts).toBe(1);
  }
});

maybe('the environment: HTTP_PROXY by default, NO_PROXY bypasses it, proxy: false ignores it', async () => {
  const proxy = t.add(await startTinyproxy());
  const server = t.add(await startWsServer());
  process.env.HTTP_PROXY = proxy.url;
  await roundTrip(t.socket(server.url));
  expect(proxy.connects()).toHaveLength(1);
  process.env.NO_PROXY = 'example.com, 127.0.0.1';
  await roundTrip(t.socket(server.url));
  delete process.env.NO_PROXY;
  await roundTrip(t.socket(server.url, { proxy: false }));
  expect(proxy.connects()).toHaveLength(1); // only the first went through the proxy
  expect(server.handshakes).toHaveLength(3);
});

maybe('an unreachable proxy is retried with ERR_PROXY, and the socket opens once the proxy is up', async () => {
  const server = t.add(await startWsServer());
  const probe = await startTinyproxy();
  const { port } = probe;
  await probe.stop(); // now nothing listens on the proxy's port
  const sock = t.socket(server.url, { proxy: `http://127.0.0.1:${port}`, reconnect: FAST });
  const [retry] = await onceWithin(sock, 'reconnecting', 5000);
  expect(retry.error.code).toBe('ERR_PROXY');
  expect(retry.error.message).toContain(`127.0.0.1:${port}`);
  expect(sock.state).not.toBe('failed');
  await sock.close();
});

maybe('a tunnel the proxy refuses (the origin is down) is retried with ERR_PROXY and the proxy\'s status', async () => {
  const proxy = t.add(await startTinyproxy());
  const server = await startWsServer();
  const { url } = server;
  await server.close(); // the proxy cannot reach the origin: it answers with an error status
  const sock = t.socket(url, { proxy: proxy.url, reconnect: FAST });
  const [retry] = await onceWithin(sock, 'reconnecting', 5000);
  expect(retry.error.code).toBe('ERR_PROXY');
  expect(retry.error.status).toBeGreaterThanOrEqual(400);
});
