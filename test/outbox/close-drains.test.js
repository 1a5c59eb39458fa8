'use strict';

// Regression (review r8): close() on a healthy connection used to put only what fit under the
// connection's 1 MiB write high-water mark on the wire and then send the close frame at once;
// everything queued behind it was abandoned (in memory: rejected ERR_CLOSED). close() must write
// what is queued first and only then close: every send() made before close() resolves, and the
// server receives all of them, in order, before the close frame.

const { WebSocketServer } = require('ws');
const http = require('http');
const { withDeadline, waitFor } = require('../helpers/deadline');
const { makeTracker, next } = require('./support');

const t = makeTracker();
afterEach(() => t.cleanup());

const N = 5000;
const payload = (i) => `${i}:`.padEnd(1024, 'x'); // 1 KiB each: 5 MiB in all, five times the high-water mark

/**
 * A ws server that records, per connection, the messages and the close frame in arrival order.
 * @returns {Promise<{url: string, log: Array<Array<{text?: string, close?: number}>>, close: () => Promise<void>}>}
 */
async function startRecordingServer() {
  const httpServer = http.createServer();
  const wss = new WebSocketServer({ server: httpServer, perMessageDeflate: false });
  const log = [];
  wss.on('connection', (ws) => {
    const entries = [];
    log.push(entries);
    ws.on('error', () => {});
    ws.on('message', (data) => entries.push({ text: data.toString('utf8') }));
    ws.on('close', (code) => entries.push({ close: code }));
  });
  await new Promise((resolve) => httpServer.listen({ host: '127.0.0.1', port: 0 }, resolve));
  return {
    url: `ws://127.0.0.1:${httpServer.address().port}/`,
    log,
    async close() {
      for (const ws of wss.clients) ws.terminate();
      await new Promise((resolve) => wss.close(resolve));
      httpServer.closeAllConnections();
      await new Promise((resolve) => httpServer.close(resolve));
    },
  };
}

describe.each([
  ['in memory', false, 'written'],
  ['file outbox', true, 'persisted'],
])('close() after a burst (%s)', (label, durable, status) => {
  test(`${N} x 1 KiB send() then await close(): all resolve, and the server gets all of them in order before the close frame`, async () => {
    const server = t.add(await startRecordingServer());
    const outbox = durable ? { path: `${t.tempDir('close-drains')}/outbox` } : undefined;
    const sock = t.socket(server.url, { heartbeat: false, outbox });
    await next(sock, 'open');

    const settled = [];
    for (let i = 0; i < N; i++) {
      settled.push(sock.send(payload(i)).then((r) => ({ status: r.status }), (err) => ({ code: err.code })));
    }
    const closeEvent = next(sock, 'close', 15000);
    await withDeadline(sock.close(), 15000, 'close()');
    const results = await withDeadline(Promise.all(settled), 5000, 'every send() to settle');
    const failed = results.filter((r) => r.status !== status);
    expect({ failed: failed.length, first: failed[0] }).toEqual({ failed: 0, first: undefined });
    expect(await closeEvent).toMatchObject({ code: 1000 });
    expect(sock.outboxSize).toBe(0);

    await waitFor(() => server.log[0] && server.log[0].some((e) => e.close !== undefined), 5000, 'the close at the server');
    const entries = server.log[0];
    const closeAt = entries.findIndex((e) => e.close !== undefined);
    expect(entries[closeAt].close).toBe(1000); // a close frame, not a dropped connection (1006)
    const before = entries.slice(0, closeAt).map((e) => e.text);
    expect(before.length).toBe(N);
    const outOfPlace = before.findIndex((text, i) => text !== payload(i));
    expect(outOfPlace).toBe(-1);
    expect(entries.length).toBe(N + 1); // nothing after the close either
    expect(server.log).toHaveLength(1);
  });
});

test('a server that stops reading does not hold close() for ever: it ends within the drain limit, every send() settled', async () => {
  // Writing what is queued first must not turn into a hang when the peer is stuck (close() gives
  // queued messages at most a few seconds, then sends the close frame).
  const httpServer = http.createServer();
  const wss = new WebSocketServer({ server: httpServer, perMessageDeflate: false });
  wss.on('connection', (ws) => {
    ws.on('error', () => {});
    ws.pause(); // never reads: TCP flow control stops the client's writes
  });
  await new Promise((resolve) => httpServer.listen({ host: '127.0.0.1', port: 0 }, resolve));
  t.add({
    async close() {
      for (const ws of wss.clients) ws.terminate();
      await new Promise((resolve) => wss.close(resolve));
      httpServer.closeAllConnections();
      await new Promise((resolve) => httpServer.close(resolve));
    },
  });
  const sock = t.socket(`ws://127.0.0.1:${httpServer.address().port}/`, { heartbeat: false });
  await next(sock, 'open');
  const big = 'x'.repeat(1 << 20);
  const settled = [];
  for (let i = 0; i < 16; i++) {
    settled.push(sock.send(big).then((r) => r.status, (err) => err.code)); // 16 MiB: far more than the socket buffers hold
  }
  await waitFor(() => sock.stats().bufferedAmount > 0, 5000, 'writes backing up');
  const started = Date.now();
  await withDeadline(sock.close(), 20000, 'close() against a stuck server');
  const took = Date.now() - started;
  const results = await withDeadline(Promise.all(settled), 5000, 'every send() to settle');
  // About 8 s here: the 5 s drain limit, then the wait for a close reply the stuck server never
  // sends. Generous slack for a loaded machine; what matters is that it ends.
  expect(took).toBeLessThan(15000);
  expect(results.every((r) => r === 'written' || r === 'ERR_CLOSED')).toBe(true);
  expect(results).toContain('ERR_CLOSED'); // some never made it out, and say so
  console.log(`close() against a stuck server took ${took} ms; ${results.filter((r) => r === 'written').length}/16 written`);
});
