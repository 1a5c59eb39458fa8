'use strict';

// How attempts fail: handshake statuses, refused connections and connect
// timeouts, each with its stable error code, terminal or retried as the spec says.

const { startWsServer, startTcpBlackholeServer } = require('../helpers/servers');
const { waitFor } = require('../helpers/deadline');
const { refusedPort } = require('../helpers/ports');
const { makeTracker, recordEvents, next } = require('./support');

const t = makeTracker();
afterEach(() => t.cleanup());

// Fast retries, so a terminal failure that was wrongly retried shows up as extra attempts.
const FAST_RETRY = { initialDelay: 10, maxDelay: 30 };

const count = (log, name) => log.filter(([n]) => n === name).length;

test('401 ends in failed with ERR_AUTH and status 401, after exactly one attempt', async () => {
  const server = t.add(await startWsServer({ reject: { status: 401 } }));
  const sock = t.socket(server.url, { reconnect: FAST_RETRY, headers: { Authorization: 'Bearer expired-token' } });
  const log = recordEvents(sock);
  const closed = next(sock, 'close');
  const { error } = await next(sock, 'failed');
  await closed;
  expect(error.code).toBe('ERR_AUTH');
  expect(error.status).toBe(401);
  // Credentials never leak into messages.
  expect(error.message).not.toContain('expired-token');
  expect(sock.state).toBe('failed');
  expect(count(log, 'connecting')).toBe(1);
  expect(count(log, 'reconnecting')).toBe(0);
  expect(server.handshakes).toHaveLength(1);
  expect(server.handshakes[0].rejectedWith).toBe(401);
});

test('404 ends in failed with ERR_HANDSHAKE_REJECTED and status 404, after one attempt', async () => {
  const server = t.add(await startWsServer({ reject: { status: 404 } }));
  const sock = t.socket(server.urlFor('/no-such-path'), { reconnect: FAST_RETRY });
  const log = recordEvents(sock);
  const closed = next(sock, 'close');
  const { error } = await next(sock, 'failed');
  await closed;
  expect(error.code).toBe('ERR_HANDSHAKE_REJECTED');
  expect(error.status).toBe(404);
  expect(count(log, 'connecting')).toBe(1);
  expect(server.handshakes).toHaveLength(1);
});

test('a refused connection with reconnect: false ends in failed with ERR_CONNECTION_REFUSED', async () => {
  const port = await refusedPort();
  const sock = t.socket(`ws://127.0.0.1:${port}/`, { reconnect: false });
  const log = recordEvents(sock);
  const closed = next(sock, 'close');
  const { error } = await next(sock, 'failed');
  await closed;
  expect(error.code).toBe('ERR_CONNECTION_REFUSED');
  expect(sock.state).toBe('failed');
  expect(count(log, 'connecting')).toBe(1);
  expect(count(log, 'reconnecting')).toBe(0);
  expect(count(log, 'disconnect')).toBe(0); // never opened, so nothing was disconnected
});

test('a refused connection with reconnect on emits reconnecting events carrying ERR_CONNECTION_REFUSED', async () => {
  const port = await refusedPort();
  const sock = t.socket(`ws://127.0.0.1:${port}/`, { reconnect: FAST_RETRY });
  const reconnecting = [];
  sock.on('reconnecting', (p) => reconnecting.push(p));
  const failed = [];
  sock.on('failed', (p) => failed.push(p));
  await waitFor(() => reconnecting.length >= 3, 5000, 'three reconnecting events');
  for (const [i, p] of reconnecting.slice(0, 3).entries()) {
    expect(p.error.code).toBe('ERR_CONNECTION_REFUSED');
    expect(p.attempt).toBe(i + 2); // the attempt about to be made
    expect(p.delay).toBeGreaterThanOrEqual(0);
    expect(p.delay).toBeLessThanOrEqual(FAST_RETRY.maxDelay);
    expect(typeof p.reason).toBe('string');
  }
  expect(failed).toEqual([]);
  expect(['reconnecting', 'connecting']).toContain(sock.state);
});

test('connectTimeout against a server that never answers the upgrade: failed with ERR_CONNECT_TIMEOUT', async () => {
  const blackhole = t.add(await startTcpBlackholeServer());
  const sock = t.socket(blackhole.url, { connectTimeout: 300, reconnect: false });
  const started = Date.now();
  const { error } = await next(sock, 'failed', 5000);
  const elapsed = Date.now() - started;
  expect(error.code).toBe('ERR_CONNECT_TIMEOUT');
  expect(elapsed).toBeGreaterThanOrEqual(250); // not before the timeout (small clock slack)
  expect(elapsed).toBeLessThan(4000);
  expect(blackhole.accepted).toBe(1); // TCP did connect: it is the upgrade that timed out
});

test('connectTimeout with reconnect on: reconnecting events carry ERR_CONNECT_TIMEOUT', async () => {
  const blackhole = t.add(await startTcpBlackholeServer());
  const sock = t.socket(blackhole.url, { connectTimeout: 300, reconnect: FAST_RETRY });
  const first = await next(sock, 'reconnecting', 5000);
  expect(first.error.code).toBe('ERR_CONNECT_TIMEOUT');
  expect(first.attempt).toBe(2);
  const second = await next(sock, 'reconnecting', 5000);
  expect(second.error.code).toBe('ERR_CONNECT_TIMEOUT');
  // The timed-out attempt's TCP connection is dropped, not leaked.
  await waitFor(() => blackhole.connections() <= 1, 5000, 'abandoned attempts to be closed');
  expect(blackhole.accepted).toBeGreaterThanOrEqual(2);
});
