'use strict';

// Server companion, inbound side: the handler runs once per idempotency key, the ack the client
// expects comes back (also for duplicates), failures are not acked, and malformed input never
// takes the server down.

const WebSocket = require('ws');
const { ResilientServer, MemoryStore } = require('../../lib/server');
const { makeTracker } = require('../helpers/tracker');
const { startFaultProxy } = require('../helpers/fault-proxy');
const { onceWithin, waitFor, quietPeriod } = require('../helpers/deadline');

const t = makeTracker();
afterEach(() => t.cleanup());

async function startServer(options) {
  const server = t.add(new ResilientServer({ port: 0, host: '127.0.0.1', store: new MemoryStore({ firstId: 1 }), ...options }));
  await server.listening;
  return server;
}

async function rawClient(url) {
  const ws = new WebSocket(url);
  t.add({ close: () => ws.terminate() });
  const messages = [];
  ws.on('message', (d) => messages.push(JSON.parse(String(d))));
  await onceWithin(ws, 'open', 5000);
  return { ws, messages };
}

test("guarantee 'acked': every send is acked with { type: 'ack', key } and handled once; re-sent keys are acked again without calling the handler", async () => {
  const handled = [];
  const server = await startServer({ onMessage: (msg, ctx) => { handled.push(ctx.key); } });
  const sock = t.socket(`ws://127.0.0.1:${server.port}/`, { outbox: { guarantee: 'acked', keyField: 'key' }, heartbeat: false });
  const receipts = await Promise.all(Array.from({ length: 30 }, (_, i) => sock.send(JSON.stringify({ n: i }), { key: `k${i}` })));
  expect(receipts.map((r) => r.status)).toEqual(Array(30).fill('acked'));
  expect(handled).toEqual(Array.from({ length: 30 }, (_, i) => `k${i}`)); // in send order

  // The same keys again (what a client re-sends after a lost ack): acked, not handled.
  const raw = await rawClient(`ws://127.0.0.1:${server.port}/`);
  raw.ws.send(JSON.stringify({ n: 3, key: 'k3' }));
  raw.ws.send(JSON.stringify({ n: 3, key: 'k3' }));
  await waitFor(() => raw.messages.length === 2, 5000, 'two acks');
  expect(raw.messages).toEqual([{ type: 'ack', key: 'k3' }, { type: 'ack', key: 'k3' }]);
  expect(handled).toHaveLength(30);
  expect(server.stats()).toMatchObject({ acks: 30, duplicates: 2, handlerErrors: 0 });
});

test('a re-send that arrives while the first delivery is still being handled waits for it: one handler call, both acked', async () => {
  let release;
  const gate = new Promise((resolve) => { release = resolve; });
  const calls = [];
  const server = await startServer({ onMessage: async (msg, ctx) => { calls.push(ctx.key); await gate; } });
  const a = await rawClient(`ws://127.0.0.1:${server.port}/`);
  const b = await rawClient(`ws://127.0.0.1:${server.port}/`);
  a.ws.send(JSON.stringify({ key: 'slow' }));
  await waitFor(() => calls.length === 1, 5000, 'the first handler call');
  b.ws.send(JSON.stringify({ key: 'slow' }));
  await quietPeriod(100); // the second must not be handled (nor acked) while the first runs
  expect(calls).toEqual(['slow']);
  expect(b.messages).toEqual([]);
  release();
  await waitFor(() => a.messages.length === 1 && b.messages.length === 1, 5000, 'both acks');
  expect(a.messages).toEqual([{ type: 'ack', key: 'slow' }]);
  expect(b.messages).toEqual([{ type: 'ack', key: 'slow' }]);
  expect(calls).toEqual(['slow']);
  expect(server.stats()).toMatchObject({ acks: 1, duplicates: 1, keyWaits: 1 });
});

test('a handler that throws is not acked; the client re-sends after its reconnect and the handler runs again, then it is acked', async () => {
  let failures = 1;
  const calls = [];
  const errors = [];
  const server = await startServer({
    onMessage: (msg, ctx) => {
      calls.push(ctx.key);
      if (failures-- > 0) throw new Error('database unavailable');
    },
  });
  server.on('handler-error', (err, info) => errors.push([err.message, info.key]));
  const proxy = t.add(await startFaultProxy({ target: { port: server.port } }));
  const sock = t.socket(proxy.url('/'), {
    outbox: { guarantee: 'acked', keyField: 'key' }, heartbeat: false, reconnect: { initialDelay: 50, maxDelay: 100 },
  });
  await onceWithin(sock, 'open', 5000);
  const receipt = sock.send(JSON.stringify({ n: 1 }), { key: 'flaky' });
  await waitFor(() => errors.length === 1, 5000, 'the handler error');
  expect(sock.outboxSize).toBe(1); // not acked
  proxy.resetAll(); // the client reconnects and re-sends what is not acked
  expect((await receipt).status).toBe('acked');
  expect(calls).toEqual(['flaky', 'flaky']);
  expect(errors).toEqual([['database unavailable', 'flaky']]);
  expect(server.stats()).toMatchObject({ acks: 1, handlerErrors: 1, duplicates: 0 });
});

test('ack format follows the ack option (the client outbox.ack settings)', async () => {
  const server = await startServer({ keyField: 'id', ack: { keyField: 'ref', match: { kind: 'receipt', ok: true } } });
  const sock = t.socket(`ws://127.0.0.1:${server.port}/`, {
    outbox: { guarantee: 'acked', keyField: 'id', ack: { keyField: 'ref', match: { kind: 'receipt', ok: true } } }, heartbeat: false,
  });
  expect((await sock.send(JSON.stringify({ n: 1 }), { key: 'x1' })).status).toBe('acked');
  const raw = await rawClient(`ws://127.0.0.1:${server.port}/`);
  raw.ws.send(JSON.stringify({ id: 'x1' }));
  await waitFor(() => raw.messages.length === 1, 5000, 'the ack');
  expect(raw.messages[0]).toEqual({ kind: 'receipt', ok: true, ref: 'x1' });
});

test('malformed input (not JSON, binary, arrays, bad keys, oversize) never crashes the server or reaches the dedupe path', async () => {
  const received = [];
  const server = await startServer({ maxMessageSize: 4096, onMessage: (msg, ctx) => { received.push([msg, ctx.key, ctx.isBinary]); } });
  const raw = await rawClient(`ws://127.0.0.1:${server.port}/`);
  raw.ws.send('not json {');
  raw.ws.send(Buffer.from([0, 1, 2]));
  raw.ws.send('[1,2,3]');
  raw.ws.send(JSON.stringify({ key: 42 }));
  raw.ws.send(JSON.stringify({ key: 'k'.repeat(2000) }));
  raw.ws.send(JSON.stringify({ key: '' }));
  raw.ws.send(JSON.stringify({ note: 'no key' }));
  await waitFor(() => received.length === 4, 5000, 'the usable messages');
  expect(received).toEqual([
    ['not json {', undefined, false],
    [Buffer.from([0, 1, 2]), undefined, true],
    [[1, 2, 3], undefined, false],
    [{ note: 'no key' }, undefined, false],
  ]);
  expect(raw.messages).toEqual([]); // nothing acked
  expect(server.stats().badMessages).toBe(3);
  // Oversize: ws closes that connection with 1009; the server goes on serving others.
  const closed = onceWithin(raw.ws, 'close', 5000);
  raw.ws.send('x'.repeat(10000));
  expect((await closed)[0]).toBe(1009);
  const other = await rawClient(`ws://127.0.0.1:${server.port}/`);
  await server.publish('still here');
  await waitFor(() => other.messages.length === 1, 5000, 'an event on a new connection');
  expect(other.messages[0]).toEqual({ id: 1, type: 'event', data: 'still here' });
  await waitFor(() => server.stats().disconnects === 1, 5000, 'the disconnect to be counted');
  // ws stops reading after a protocol error, so the client's close reply never arrives: the
  // server counts that connection under 1006 (no close frame received).
  expect(server.stats().disconnectsByCode).toEqual({ 1006: 1 });
});
