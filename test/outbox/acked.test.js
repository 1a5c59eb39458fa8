'use strict';

// guarantee 'acked': a message stays in the outbox until the server acknowledges its
// key, and is re-sent with the same key after every reconnect until then. The server here
// behaves like a real one that crashes before acknowledging: its first connections receive
// everything and are then dropped without a close frame (terminate), the second one after
// acking two keys; later ones ack every message and process each key once (server-side dedupe).

const http = require('http');
const { WebSocketServer } = require('ws');
const { waitFor, withDeadline } = require('../helpers/deadline');
const { makeTracker, next } = require('./support');

const t = makeTracker();
afterEach(() => t.cleanup());

const N = 20;

/**
 * A ws server on 127.0.0.1:0. Connection c (1-based) records every message; connections 1-3 are
 * terminated once all `expected(c)` messages arrived, connection 2 after acking `ackInTwo` keys
 * first; from connection 4 on every message is acked and each key processed once.
 *
 * @param {(connection: number) => number} expected messages to wait for before dropping
 * @param {number} ackInTwo keys acked on connection 2 before the drop
 */
async function startCrashyAckServer(expected, ackInTwo) {
  const httpServer = http.createServer();
  const wss = new WebSocketServer({ server: httpServer });
  const received = []; // { connection, key, text }
  const processed = new Map(); // key → times processed (must end at 1 each)
  const ackSent = new Set(); // keys the server has acknowledged
  let connections = 0;
  wss.on('connection', (ws) => {
    const connection = ++connections;
    let count = 0;
    ws.on('error', () => {});
    ws.on('message', (data) => {
      const text = data.toString('utf8');
      const { key } = JSON.parse(text);
      received.push({ connection, key, text });
      count += 1;
      if (connection >= 4) {
        if (!processed.has(key)) processed.set(key, 0);
        processed.set(key, processed.get(key) + 1);
        ackSent.add(key);
        ws.send(JSON.stringify({ type: 'ack', key }));
        return;
      }
      if (connection === 2 && count <= ackInTwo) {
        processed.set(key, 1);
        ackSent.add(key);
        ws.send(JSON.stringify({ type: 'ack', key }));
      }
      // Received, not acknowledged: the crash every at-least-once protocol must survive.
      if (count === expected(connection)) setTimeout(() => ws.terminate(), 20);
    });
  });
  await new Promise((resolve) => httpServer.listen({ host: '127.0.0.1', port: 0 }, resolve));
  return {
    url: `ws://127.0.0.1:${httpServer.address().port}/`,
    received,
    processed,
    ackSent,
    connections: () => connections,
    async close() {
      for (const ws of wss.clients) ws.terminate();
      await new Promise((resolve) => wss.close(resolve));
      httpServer.closeAllConnections();
      await new Promise((resolve) => httpServer.close(resolve));
    },
  };
}

describe.each([
  ['in memory', false],
  ['file outbox', true],
])('guarantee acked (%s)', (label, durable) => {
  test('every message is re-sent with its key after each drop until acked; receipts and events say acked', async () => {
    const ACKED_IN_TWO = 2;
    // Connections 1 and 2 get all N, connection 3 the N - 2 not yet acked.
    const server = t.add(await startCrashyAckServer((c) => (c <= 2 ? N : N - ACKED_IN_TWO), ACKED_IN_TWO));
    const outbox = { guarantee: 'acked', keyField: 'key' };
    if (durable) outbox.path = `${t.tempDir('acked')}/outbox`;
    const sock = t.socket(server.url, { outbox, reconnect: { initialDelay: 20, maxDelay: 100 }, heartbeat: false });
    const acks = [];
    const messages = [];
    const drains = [];
    const disconnects = [];
    sock.on('ack', (e) => acks.push(e.key));
    sock.on('message', (data) => messages.push(data));
    sock.on('drain', () => drains.push(Date.now()));
    sock.on('disconnect', (e) => disconnects.push(e));
    await next(sock, 'open');

    const resolvedBeforeAck = [];
    const resolutionOrder = [];
    const receipts = [];
    for (let i = 0; i < N; i++) {
      // Half the keys come from the application, half are generated.
      const p = sock.send(JSON.stringify({ n: i }), i % 2 ? { key: `order-${i}` } : undefined);
      p.then((r) => {
        resolutionOrder.push(i);
        if (!server.ackSent.has(r.key)) resolvedBeforeAck.push(r.key);
      });
      receipts.push(p);
    }
    const results = await withDeadline(Promise.all(receipts), 20000, 'every receipt');
    await waitFor(() => drains.length === 1, 5000, "'drain'");

    // Receipts: status 'acked', keys as given or generated, each resolved only after the server
    // had acknowledged its key (the two acked on connection 2 first).
    results.forEach((r, i) => {
      expect(r.status).toBe('acked');
      if (i % 2) expect(r.key).toBe(`order-${i}`);
    });
    expect(new Set(results.map((r) => r.key)).size).toBe(N);
    expect(resolvedBeforeAck).toEqual([]);
    expect(resolutionOrder.slice(0, ACKED_IN_TWO)).toEqual([0, 1]);

    // One 'ack' event per key; acks were consumed, never delivered as messages.
    expect([...acks].sort()).toEqual(results.map((r) => r.key).sort());
    expect(messages).toEqual([]);
    expect(disconnects.map((d) => d.willReconnect)).toEqual([true, true, true]);

    // What the server saw: every message on connections 1 and 2, the unacked ones again on 3
    // and 4, in the original order each time and with the same key and payload.
    const byConnection = (c) => server.received.filter((m) => m.connection === c);
    const sentText = new Map(); // key → the exact text first sent
    for (const m of byConnection(1)) sentText.set(m.key, m.text);
    expect(byConnection(1).map((m) => m.key)).toEqual(results.map((r) => r.key));
    expect(byConnection(2).map((m) => m.key)).toEqual(results.map((r) => r.key));
    const unackedAfterTwo = results.slice(ACKED_IN_TWO).map((r) => r.key);
    expect(byConnection(3).map((m) => m.key)).toEqual(unackedAfterTwo);
    expect(byConnection(4).map((m) => m.key)).toEqual(unackedAfterTwo);
    for (const m of server.received) expect(m.text).toBe(sentText.get(m.key));
    expect(JSON.parse(sentText.get(results[3].key))).toEqual({ key: results[3].key, n: 3 });
    expect(server.connections()).toBe(4);

    // Processed once per key on the server side, however often it arrived.
    expect([...server.processed.keys()].sort()).toEqual(results.map((r) => r.key).sort());
    for (const times of server.processed.values()) expect(times).toBe(1);
    expect(sock.outboxSize).toBe(0);

    // Nothing is re-sent once everything was acked, not even after another reconnect.
    const before = server.received.length;
    sock.reconnect();
    await next(sock, 'open');
    await sock.send(JSON.stringify({ n: 'last' }));
    await waitFor(() => server.received.length === before + 1, 5000, 'only the new message');
    expect(JSON.parse(server.received[before].text).n).toBe('last');
  });
});

test('with a file outbox, unacked messages survive a restart and keep their keys', async () => {
  // Connection 1 gets all five and drops; the socket is then closed before any ack. The next
  // process's connection 2 acks two and drops, 3 drops the other three, 4 acks them.
  const server = t.add(await startCrashyAckServer((c) => (c <= 2 ? 5 : 3), 2));
  const path = `${t.tempDir('acked')}/outbox`;
  const outbox = { guarantee: 'acked', keyField: 'key', path };
  const first = t.socket(server.url, { outbox, reconnect: { initialDelay: 5000 }, heartbeat: false });
  await next(first, 'open');
  const pending = [];
  for (let i = 0; i < 5; i++) pending.push(first.send(JSON.stringify({ n: i })).catch((err) => err));
  await waitFor(() => server.received.length === 5, 5000, 'five messages on connection 1');
  await next(first, 'disconnect');
  await first.close();
  // A file outbox keeps them for the next process: the promises end with ERR_CLOSED here.
  for (const r of await Promise.all(pending)) expect(r.code).toBe('ERR_CLOSED');
  const keys = server.received.map((m) => m.key);

  const second = t.socket(server.url, { outbox, reconnect: { initialDelay: 20, maxDelay: 100 }, heartbeat: false });
  const acks = [];
  second.on('ack', (e) => acks.push(e.key));
  await next(second, 'drain', 15000);
  expect(acks.sort()).toEqual([...keys].sort());
  const resent = server.received.filter((m) => m.connection >= 2).map((m) => m.key);
  expect(resent.slice(0, 5)).toEqual(keys); // redelivered in order, same keys
  for (const times of server.processed.values()) expect(times).toBe(1);
});

test('a message that already carries its key in the keyField is tracked, and acked, under that key', async () => {
  // The server acks whatever key each message carries. Before, the outbox kept the message's own
  // JSON key in the payload but waited for an ack of a generated key: never settled.
  const { startWsServer } = require('../helpers/servers');
  const acking = (ws) => ws.on('message', (data) => ws.send(JSON.stringify({ type: 'ack', key: JSON.parse(String(data)).key })));
  const server = t.add(await startWsServer({ echo: false, onConnection: acking }));
  const sock = t.socket(server.url, { outbox: { guarantee: 'acked', keyField: 'key' } });
  await next(sock, 'open');
  const receipts = await withDeadline(
    Promise.all([
      sock.send(JSON.stringify({ key: 'order-1', n: 1 })),
      sock.send(JSON.stringify({ n: 2, key: 'order-2' })),
      sock.send(JSON.stringify({ n: 3 })), // no key of its own: generated, written in
      sock.send('{"keys":"not the field","n":4}'),
    ]),
    5000,
    'four acked receipts',
  );
  expect(receipts.map((r) => r.status)).toEqual(['acked', 'acked', 'acked', 'acked']);
  expect(receipts[0].key).toBe('order-1');
  expect(receipts[1].key).toBe('order-2');
  const sent = server.connections[0].messages.map((m) => JSON.parse(m.data));
  expect(sent[0]).toEqual({ key: 'order-1', n: 1 }); // as written: the sender's value stays
  expect(sent[2]).toEqual({ key: receipts[2].key, n: 3 });
  expect(sent[3]).toEqual({ key: receipts[3].key, keys: 'not the field', n: 4 });
  // A key field that cannot be a key is refused at the call, as send(data, { key }) would be.
  expect(() => sock.send(JSON.stringify({ key: 42 }))).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
  expect(() => sock.send(JSON.stringify({ key: '' }))).toThrow(/"key" field \(outbox\.keyField\)/);
  // A key given to send() must agree with the one the payload carries.
  expect(() => sock.send(JSON.stringify({ key: 'a' }), { key: 'b' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
  const same = await withDeadline(sock.send(JSON.stringify({ key: 'c' }), { key: 'c' }), 5000, 'an acked receipt');
  expect(same).toMatchObject({ key: 'c', status: 'acked' });
});
