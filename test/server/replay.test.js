'use strict';

// Server companion, memory store: replay from the client's position and the switch-over to live
// events with no gap and no duplicate, the reset message, and the three resume routes driven by
// the real resilient-ws client.

const WebSocket = require('ws');
const { ResilientServer, MemoryStore } = require('../../lib/server');
const { makeTracker } = require('../helpers/tracker');
const { startFaultProxy } = require('../helpers/fault-proxy');
const { onceWithin, waitFor } = require('../helpers/deadline');
const { sequenceReport } = require('./support');

const t = makeTracker();
afterEach(() => t.cleanup());

const FAST = { initialDelay: 50, maxDelay: 200 };

async function startServer(options = {}) {
  const server = t.add(new ResilientServer({ port: 0, host: '127.0.0.1', store: new MemoryStore({ firstId: 1, ...options.storeOptions }), ...options.server }));
  await server.listening;
  return server;
}

/** Collects event ids (numbers) and other messages of a resilient-ws socket. */
function record(sock) {
  const rec = { ids: [], other: [] };
  sock.on('message', (data, info) => {
    if (info.id !== undefined) rec.ids.push(Number(info.id));
    else rec.other.push(JSON.parse(String(data)));
  });
  return rec;
}

/** A plain `ws` client collecting parsed messages. */
async function rawClient(url, headers) {
  const ws = new WebSocket(url, { headers });
  t.add({ close: () => ws.terminate() });
  const messages = [];
  ws.on('message', (d) => messages.push(JSON.parse(String(d))));
  await onceWithin(ws, 'open', 5000);
  return { ws, messages };
}

test('switch-over under concurrent publish: 12 clients resuming from different positions while 3,000 events are published each get every later id exactly once, in order', async () => {
  const server = await startServer();
  for (let i = 0; i < 200; i++) await server.publish({ i });
  const TOTAL = 3000;
  let published = 200;
  // Publish in small bursts on every turn of the event loop, so replays interleave with them.
  const publishing = new Promise((resolve) => {
    const burst = () => {
      for (let k = 0; k < 5 && published < TOTAL; k++) {
        server.publish({ i: published });
        published += 1;
      }
      if (published < TOTAL) setImmediate(burst);
      else resolve();
    };
    burst();
  });
  const clients = [];
  for (let c = 0; c < 12; c++) {
    // Connect at different moments, each resuming from somewhere in the retained history.
    await waitFor(() => published >= 200 + c * 150, 10000, `${200 + c * 150} events published`);
    const after = Math.floor(Math.random() * published);
    const sock = t.socket(`ws://127.0.0.1:${server.port}/?after=${after}`, { resume: { idField: 'id' }, heartbeat: false });
    clients.push({ after, rec: record(sock) });
  }
  await publishing;
  for (const { after, rec } of clients) {
    await waitFor(() => rec.ids.length >= TOTAL - after, 15000, `client after ${after} to reach ${TOTAL}`);
    expect(sequenceReport(rec.ids, after + 1, TOTAL)).toEqual({ missing: 0, duplicates: 0, outOfOrder: 0 });
    expect(rec.ids[0]).toBe(after + 1);
    expect(rec.ids.length).toBe(TOTAL - after);
    expect(rec.other).toEqual([]); // no reset: everything was still retained
  }
  const stats = server.stats();
  expect(stats.replays).toBe(12);
  expect(stats.resets).toBe(0);
  expect(stats.published).toBe(TOTAL);
});

test('a position older than what is retained gets a reset message (no partial replay), then live events only', async () => {
  const server = await startServer({ storeOptions: { maxEvents: 10 } });
  for (let i = 0; i < 50; i++) await server.publish({ i });
  const resets = [];
  server.on('reset', (r) => resets.push(r));
  const { messages } = await rawClient(`ws://127.0.0.1:${server.port}/?after=5`);
  await waitFor(() => messages.length >= 1, 5000, 'the reset message');
  expect(messages[0]).toEqual({ type: 'reset', reason: 'position-too-old', after: 5, oldest: 41, latest: 50 });
  expect(messages[0].id).toBeUndefined(); // never taken by a client as an event position
  await server.publish({ i: 50 });
  await waitFor(() => messages.length >= 2, 5000, 'the live event');
  expect(messages.slice(1)).toEqual([{ id: 51, type: 'event', data: { i: 50 } }]);
  expect(resets).toHaveLength(1);
  expect(server.stats().resets).toBe(1);
});

test('a position exactly at the oldest retained edge replays without a reset; a position never assigned gets reason position-unknown', async () => {
  const server = await startServer({ storeOptions: { maxEvents: 10 } });
  for (let i = 0; i < 50; i++) await server.publish({ i });
  const edge = await rawClient(`ws://127.0.0.1:${server.port}/?after=40`);
  await waitFor(() => edge.messages.length >= 10, 5000, 'the replay of 41..50');
  expect(edge.messages.map((m) => m.id)).toEqual([41, 42, 43, 44, 45, 46, 47, 48, 49, 50]);

  const ahead = await rawClient(`ws://127.0.0.1:${server.port}/?after=9999`);
  await waitFor(() => ahead.messages.length >= 1, 5000, 'the reset');
  expect(ahead.messages[0]).toMatchObject({ type: 'reset', reason: 'position-unknown', after: 9999, latest: 50 });
  // Unusable positions (not a decimal integer) count as none: a fresh client, live only.
  const junk = await rawClient(`ws://127.0.0.1:${server.port}/?after=12-0`);
  await server.publish({ i: 50 });
  await waitFor(() => junk.messages.length >= 1, 5000, 'the live event');
  expect(junk.messages).toEqual([{ id: 51, type: 'event', data: { i: 50 } }]);
});

describe.each([
  ['query', { via: 'query' }, 'after'],
  ['header', { via: 'header' }, 'Last-Event-ID'],
  ['message', { via: 'message' }, 'sync message'],
])('resume route %s with the resilient-ws client', (via, resume) => {
  test('events published while the client was away arrive after the reconnect, none missed, none twice', async () => {
    const server = await startServer({ server: { resume: { syncTimeout: 300 } } });
    const proxy = t.add(await startFaultProxy({ target: { port: server.port } }));
    const resumes = [];
    server.on('resume', (r) => resumes.push(r));
    const sock = t.socket(proxy.url('/'), { resume: { idField: 'id', ...resume }, reconnect: FAST, heartbeat: false });
    const rec = record(sock);
    await onceWithin(sock, 'open', 5000);
    // A fresh client (no position yet): with the message route the server waits syncTimeout for
    // a sync message, holding live events meanwhile; none may be lost.
    for (let i = 0; i < 20; i++) await server.publish({ i });
    await waitFor(() => rec.ids.length === 20, 5000, 'the first 20 events');
    await proxy.setMode('refuse');
    proxy.resetAll();
    await onceWithin(sock, 'disconnect', 5000);
    for (let i = 20; i < 50; i++) await server.publish({ i });
    await proxy.setMode('pass');
    await waitFor(() => rec.ids.length >= 50, 10000, 'the 30 events published while away');
    for (let i = 50; i < 60; i++) await server.publish({ i });
    await waitFor(() => rec.ids.length >= 60, 5000, 'live events after the replay');
    expect(sequenceReport(rec.ids, 1, 60)).toEqual({ missing: 0, duplicates: 0, outOfOrder: 0 });
    expect(rec.ids).toHaveLength(60);
    expect(resumes.filter((r) => r.after !== null)).toEqual([{ stream: 'default', via, after: 20 }]);
    expect(sock.stats().idGaps).toBe(0);
    if (via === 'message') expect(server.stats().syncMessages).toBe(1);
  });
});
