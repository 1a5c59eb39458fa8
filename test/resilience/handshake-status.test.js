'use strict';

// Handshake answers that mean "come back later": 429 and 503 are
// retried no sooner than Retry-After (seconds or HTTP date, capped at 10 min) and no sooner
// than the backoff delay; any other 5xx follows the normal backoff.

const { ResilientSocket } = require('../../lib');
const { startWsServer } = require('../helpers/servers');
const { nextEvent, recordEvents, recorded, createScope } = require('./support');

let scope;
beforeEach(() => {
  scope = createScope();
});
afterEach(() => scope.dispose());

/**
 * A ws server that answers the first `times` handshakes with `rejection`, then accepts, and
 * records the wall-clock time of each rejection.
 */
async function rejectingServer(rejection, times = 1) {
  const rejectedAt = [];
  const server = scope.add(await startWsServer({
    reject: () => {
      if (rejectedAt.length >= times) return null;
      rejectedAt.push(Date.now());
      return typeof rejection === 'function' ? rejection() : rejection;
    },
  }), (s) => s.close());
  return { server, rejectedAt };
}

const fastBackoff = { initialDelay: 50, maxDelay: 500 };

test('503 with Retry-After: 2 → the next attempt starts at least 2 s after the rejection', async () => {
  const { server, rejectedAt } = await rejectingServer({ status: 503, headers: { 'Retry-After': '2' } });
  const sock = scope.socket(new ResilientSocket(server.url, { reconnect: fastBackoff }));
  const events = recordEvents(sock);
  const { payload: r } = await recorded(events, 'reconnecting', 5000);
  expect(r.status).toBe(503);
  expect(r.retryAfter).toBe(2000);
  expect(r.delay).toBeGreaterThanOrEqual(2000);
  expect(r.error.code).toBe('ERR_HANDSHAKE_REJECTED');
  expect(r.error.status).toBe(503);
  const { wall: secondAt } = await recorded(events, 'connecting', 5000, (c) => c.attempt === 2);
  const { payload: o } = await recorded(events, 'open', 5000);
  const waited = secondAt - rejectedAt[0];
  console.log(`503 Retry-After: 2 → next attempt ${waited} ms after the rejection (delay ${r.delay} ms)`);
  expect(waited).toBeGreaterThanOrEqual(2000 - 5); // Date.now() granularity
  expect(o.attempt).toBe(2);
  expect(server.handshakes).toHaveLength(2);
  // A refused handshake never opened: no disconnect, and no 'error' event either.
  expect(events.some((e) => e.name === 'disconnect')).toBe(false);
});

test('429 with Retry-After as an HTTP date → no attempt before that date', async () => {
  // Whole seconds (HTTP dates have no fractions), 2-3 s from now.
  const until = Math.ceil((Date.now() + 2000) / 1000) * 1000;
  const { server } = await rejectingServer(() => ({
    status: 429,
    headers: { 'Retry-After': new Date(until).toUTCString() },
  }));
  const sock = scope.socket(new ResilientSocket(server.url, { reconnect: fastBackoff }));
  const events = recordEvents(sock);
  const { payload: r } = await recorded(events, 'reconnecting', 5000);
  expect(r.status).toBe(429);
  expect(r.retryAfter).toBeGreaterThan(1000);
  expect(r.retryAfter).toBeLessThanOrEqual(3000);
  expect(r.delay).toBe(r.retryAfter);
  const { wall: secondAt } = await recorded(events, 'connecting', 5000, (c) => c.attempt === 2);
  console.log(`429 Retry-After: <date> → next attempt ${secondAt - until} ms after the date (retryAfter ${r.retryAfter} ms)`);
  expect(secondAt).toBeGreaterThanOrEqual(until - 5);
  await recorded(events, 'open', 5000);
});

test('Retry-After shorter than the backoff delay: the backoff wins', async () => {
  const { server } = await rejectingServer({ status: 503, headers: { 'Retry-After': '1' } });
  const sock = scope.socket(new ResilientSocket(server.url, {
    reconnect: { initialDelay: 3000, maxDelay: 3000, jitter: 'none' },
  }));
  const { payload: r } = await nextEvent(sock, 'reconnecting', 5000);
  expect(r.retryAfter).toBe(1000);
  expect(r.delay).toBe(3000);
});

test('Retry-After is capped at 10 minutes', async () => {
  const { server } = await rejectingServer({ status: 503, headers: { 'Retry-After': '86400' } });
  const sock = scope.socket(new ResilientSocket(server.url, { reconnect: fastBackoff }));
  const { payload: r } = await nextEvent(sock, 'reconnecting', 5000);
  expect(r.retryAfter).toBe(600000);
  expect(r.delay).toBe(600000);
  expect(sock.state).toBe('reconnecting');
});

test('500 → normal backoff (a Retry-After on other statuses is not honoured)', async () => {
  const { server, rejectedAt } = await rejectingServer({ status: 500, headers: { 'Retry-After': '5' } }, 3);
  const sock = scope.socket(new ResilientSocket(server.url, { reconnect: fastBackoff }));
  const events = recordEvents(sock);
  const { payload: o } = await recorded(events, 'open', 5000);
  const retries = events.filter((e) => e.name === 'reconnecting').map((e) => e.payload);
  console.log(`500 x3 → delays ${retries.map((r) => r.delay).join(', ')} ms; open after ${Date.now() - rejectedAt[0]} ms`);
  expect(retries).toHaveLength(3);
  expect(o.attempt).toBe(4);
  retries.forEach((r, i) => {
    expect(r.status).toBe(500);
    // Reported as the server sent it (binding.d.ts), but only 429/503 honour it.
    expect(r.retryAfter).toBe(5000);
    expect(r.attempt).toBe(i + 2);
    expect(r.error.code).toBe('ERR_HANDSHAKE_REJECTED');
    // Full jitter over min(maxDelay, 50 · 2^(n-1)): 0..50, 0..100, 0..200.
    expect(r.delay).toBeLessThanOrEqual(50 * 2 ** i);
  });
  // Three retries inside the 5 s the header asked for: it was ignored, as it must be for 500 (only 429/503 honour it).
  expect(Date.now() - rejectedAt[0]).toBeLessThan(5000);
});
