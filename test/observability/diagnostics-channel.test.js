'use strict';

// Lifecycle events on node:diagnostics_channel: every channel publishes what really
// happened to a real connection — an open, a server that drops the connection, the reconnect,
// heartbeats, sends through the outbox and acks — and nothing when nobody subscribes.

const dc = require('diagnostics_channel');
const { startWsServer } = require('../helpers/servers');
const { makeTracker } = require('../helpers/tracker');
const { waitFor, onceWithin } = require('../helpers/deadline');
const { CHANNEL_NAMES } = require('../../lib/diagnostics');

const t = makeTracker();
const subscriptions = [];
afterEach(async () => {
  for (const [name, fn] of subscriptions.splice(0)) dc.unsubscribe(name, fn);
  await t.cleanup();
});

/** Records [which, message] for every channel, for messages about `sock` only (once it exists). */
function recordChannels(filter) {
  const log = [];
  for (const [which, name] of Object.entries(CHANNEL_NAMES)) {
    const fn = (message) => {
      if (filter(message.socket)) log.push([which, message]);
    };
    dc.subscribe(name, fn);
    subscriptions.push([name, fn]);
  }
  return log;
}

test('a connection\'s life appears on the channels, in order, with the event fields', async () => {
  const acking = (ws) => ws.on('message', (data) => {
    const { key } = JSON.parse(String(data));
    ws.send(JSON.stringify({ type: 'ack', key }));
  });
  const server = t.add(await startWsServer({ echo: false, onConnection: acking }));
  let mine = null;
  const log = recordChannels((s) => mine === null || s === mine);
  const sock = t.socket(server.url, {
    heartbeat: { interval: 100, timeout: 2000 },
    reconnect: { initialDelay: 10, maxDelay: 20 },
    outbox: { guarantee: 'acked', keyField: 'key' },
  });
  mine = sock;
  await onceWithin(sock, 'open', 5000);
  await onceWithin(sock, 'heartbeat', 5000);
  await Promise.all([1, 2, 3].map((n) => sock.send(JSON.stringify({ n }))));
  server.terminateAll(); // no close frame: 1006
  await onceWithin(sock, 'open', 5000);
  await sock.close();

  const names = log.map(([which]) => which);
  expect(names[0]).toBe('create');
  const order = ['connecting', 'open', 'heartbeat', 'ack', 'disconnect', 'reconnecting', 'connecting', 'open', 'close'];
  let from = 0;
  for (const which of order) {
    const at = names.indexOf(which, from);
    expect({ which, found: at >= 0 }).toEqual({ which, found: true });
    from = at + 1;
  }
  for (const [, message] of log) expect(message.socket).toBe(sock);
  const get = (which) => log.filter(([w]) => w === which).map(([, m]) => m);
  expect(get('open')[0]).toMatchObject({ attempt: 1, url: server.url, reconnected: false });
  expect(get('open')[1]).toMatchObject({ reconnected: true });
  expect(get('disconnect')[0]).toMatchObject({ code: 1006, willReconnect: true });
  expect(get('disconnect')[0].error.code).toBe('ERR_CONNECTION_LOST');
  expect(get('reconnecting')[0].delay).toBeGreaterThanOrEqual(0);
  expect(typeof get('heartbeat')[0].rtt).toBe('number');
  expect(get('ack').map((m) => m.key)).toHaveLength(3);
  // Outbox depth: up when the sends were handed over, back to 0 once all three were acked.
  const sizes = get('outbox').map((m) => m.size);
  expect(Math.max(...sizes)).toBeGreaterThanOrEqual(1);
  expect(sizes[sizes.length - 1]).toBe(0);
  expect(get('close')).toEqual([{ socket: sock, code: 1000, reason: '' }]);
  expect(get('state').map((m) => m.state)).toEqual(expect.arrayContaining(['open', 'reconnecting', 'closing', 'closed']));
});

test('a file outbox recovered from disk publishes its depth as it drains, with no send() in this process', async () => {
  // The first socket's messages reach a server that does not ack them yet; the socket closes and
  // its outbox keeps them. The second socket, on the same file, sends them again and the server
  // now acks: its outbox channel must follow the depth down to 0.
  let acking = false;
  const onConnection = (ws) => ws.on('message', (data) => {
    if (acking) ws.send(JSON.stringify({ type: 'ack', key: JSON.parse(String(data)).key }));
  });
  const server = t.add(await startWsServer({ echo: false, onConnection }));
  const outbox = { guarantee: 'acked', keyField: 'key', path: `${t.tempDir('dc-outbox')}/outbox` };
  const first = t.socket(server.url, { outbox, heartbeat: false });
  await onceWithin(first, 'open', 5000);
  const pending = [1, 2, 3].map((n) => first.send(JSON.stringify({ n }), { key: `k${n}` }).catch((err) => err));
  await waitFor(() => server.connections[0].messages.length === 3, 5000, 'three messages on connection 1');
  await first.close();
  for (const r of await Promise.all(pending)) expect(r.code).toBe('ERR_CLOSED');

  acking = true;
  let second = null;
  const log = recordChannels((s) => s === second);
  second = t.socket(server.url, { outbox, heartbeat: false });
  const acks = [];
  second.on('ack', (e) => acks.push(e.key));
  await waitFor(() => acks.length === 3, 5000, 'the recovered three acked');
  const sizes = () => log.filter(([w]) => w === 'outbox').map(([, m]) => m.size);
  await waitFor(() => sizes().length > 0 && sizes()[sizes().length - 1] === 0, 2000, 'an outbox message with size 0');
  expect(acks.sort()).toEqual(['k1', 'k2', 'k3']);
});

test('replayed duplicates dropped by the core are published on the dedupe channel', async () => {
  // The server replays ids 1..3 on every connection: after the reconnect, all three are duplicates.
  const replay = (ws) => { for (const id of [1, 2, 3]) ws.send(JSON.stringify({ id })); };
  const server = t.add(await startWsServer({ echo: false, onConnection: replay }));
  let mine = null;
  const log = recordChannels((s) => s === mine);
  const sock = t.socket(server.url, { resume: { idField: 'id' }, reconnect: { initialDelay: 10, maxDelay: 20 } });
  mine = sock;
  await waitFor(() => String(sock.lastEventId) === '3', 5000, 'ids 1..3');
  server.terminateAll();
  await waitFor(() => sock.stats().duplicatesDropped === 3, 5000, 'three duplicates dropped');
  const dedupes = () => log.filter(([w]) => w === 'dedupe').map(([, m]) => m);
  // One message per read that dropped any: the three may come in one read or several.
  await waitFor(() => dedupes().reduce((sum, m) => sum + m.dropped, 0) === 3, 2000, 'dedupe messages for all three');
  const dropped = dedupes();
  expect(dropped.reduce((sum, m) => sum + m.dropped, 0)).toBe(3);
  expect(dropped[dropped.length - 1].total).toBe(3);
});

test('a reset from the server (position no longer retained) is published on resume:reset', async () => {
  const { ResilientServer, MemoryStore } = require('../../server');
  const server = new ResilientServer({ port: 0, store: new MemoryStore({ maxEvents: 3 }) });
  t.add({ close: () => server.close() });
  await server.listening;
  const url = `ws://127.0.0.1:${server.port}/`;
  // The resume position outlives the first socket in its outbox directory.
  const options = { resume: { idField: 'id' }, outbox: { path: t.tempDir('reset') } };
  const first = t.socket(url, options);
  await onceWithin(first, 'open', 5000);
  const id = await server.publish({ n: 1 });
  await waitFor(() => String(first.lastEventId) === String(id), 5000, 'the first event');
  await first.close();
  // Offline, ten more events push that position out of the three events the store keeps.
  for (let n = 2; n <= 11; n++) await server.publish({ n });
  let mine = null;
  const log = recordChannels((s) => s === mine);
  const second = t.socket(url, options);
  mine = second;
  await waitFor(() => log.some(([w]) => w === 'resumeReset'), 5000, 'a resume:reset message');
  const [, reset] = log.find(([w]) => w === 'resumeReset');
  expect(reset.lastEventId).toBe(String(id));
});
