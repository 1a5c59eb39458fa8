'use strict';

// Server companion: liveness (ping idle clients, terminate the silent), restart/deploy close
// codes, attaching to an existing WebSocketServer or http.Server, counters and option checks.

const net = require('net');
const http = require('http');
const crypto = require('crypto');
const { WebSocketServer } = require('ws');
const { ResilientServer, MemoryStore } = require('../../lib/server');
const { makeTracker } = require('../helpers/tracker');
const { onceWithin, waitFor, quietPeriod, withDeadline } = require('../helpers/deadline');

const t = makeTracker();
afterEach(() => t.cleanup());

async function startServer(options) {
  const server = t.add(new ResilientServer({ port: 0, host: '127.0.0.1', store: new MemoryStore({ firstId: 1 }), ...options }));
  await server.listening;
  return server;
}

/**
 * A raw TCP WebSocket client that completes the upgrade and then never answers anything: the
 * kernel keeps the connection up, but no pong ever comes back (a `ws` client would auto-pong).
 */
async function mutePeer(port) {
  const sock = net.connect({ host: '127.0.0.1', port });
  t.add({ close: () => sock.destroy() });
  await onceWithin(sock, 'connect', 5000);
  const key = crypto.randomBytes(16).toString('base64');
  sock.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`
    + `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  let head = '';
  await new Promise((resolve, reject) => {
    const onData = (d) => {
      head += d.toString('latin1');
      if (head.includes('\r\n\r\n')) {
        sock.off('data', onData);
        if (!head.startsWith('HTTP/1.1 101')) reject(new Error(`upgrade refused: ${head.split('\r\n')[0]}`));
        else resolve();
      }
    };
    sock.on('data', onData);
  });
  sock.on('data', () => {}); // read and ignore: pings stay unanswered
  const closed = new Promise((resolve) => sock.once('close', resolve));
  return { sock, closed };
}

test('a client that stops answering pings is terminated after ping.interval + ping.timeout; one that answers stays', async () => {
  const server = await startServer({ ping: { interval: 200, timeout: 200 } });
  const started = Date.now();
  const mute = await mutePeer(server.port);
  // The resilient-ws client answers pings on its io thread (its own heartbeat is off here).
  const sock = t.socket(`ws://127.0.0.1:${server.port}/`, { heartbeat: false });
  await onceWithin(sock, 'open', 5000);
  let disconnected = false;
  sock.on('disconnect', () => { disconnected = true; });
  await withDeadline(mute.closed, 5000, 'the mute peer to be terminated');
  const took = Date.now() - started;
  expect(took).toBeGreaterThanOrEqual(400);
  expect(took).toBeLessThan(3000); // interval + timeout + a sweep, with slack for a busy machine
  await quietPeriod(800); // several more ping rounds: the answering client must stay
  expect(disconnected).toBe(false);
  expect(server.stats()).toMatchObject({ livenessTerminations: 1, connections: 1, disconnects: 1 });
  expect(server.stats().disconnectsByCode).toEqual({ 1006: 1 });
});

test.each([
  ['restart', 1012],
  ['deploy', 1001],
])("shutdown({ reason: '%s' }) closes every client with %i; the client reconnects and resumes on the next server", async (reason, code) => {
  const store = new MemoryStore({ firstId: 1 }); // the event history survives the "restart"
  const first = await startServer({ store });
  const port = first.port;
  const sock = t.socket(`ws://127.0.0.1:${port}/`, { resume: { idField: 'id' }, heartbeat: false, reconnect: { initialDelay: 100, maxDelay: 200 } });
  const ids = [];
  sock.on('message', (d, info) => ids.push(Number(info.id)));
  await onceWithin(sock, 'open', 5000);
  await first.publish('one');
  await waitFor(() => ids.length === 1, 5000, 'the first event');
  const disconnect = onceWithin(sock, 'disconnect', 5000);
  const stats = first.stats();
  const done = first.shutdown({ reason });
  const [d] = await disconnect;
  expect(d.code).toBe(code);
  expect(d.willReconnect).toBe(true);
  await done;
  expect(first.stats().disconnectsByCode).toEqual({ [code]: 1 });
  expect(stats.connections).toBe(1);
  // A new process on the same port with the same history: the client resumes, nothing missed.
  const second = await startServer({ store, port });
  await second.publish('two');
  await onceWithin(sock, 'open', 10000);
  await waitFor(() => ids.length === 2, 5000, 'the event published while the client was away');
  expect(ids).toEqual([1, 2]);
});

test('attaches to an existing WebSocketServer (noServer) and to an http.Server with a path', async () => {
  const httpServer = http.createServer((req, res) => res.end('plain http'));
  await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  t.add({ close: () => new Promise((resolve) => httpServer.close(resolve)) });
  const wss = new WebSocketServer({ noServer: true });
  httpServer.on('upgrade', (req, socket, head) => {
    if (req.url.startsWith('/own')) wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  const viaWss = t.add(new ResilientServer({ wss, store: new MemoryStore({ firstId: 1 }) }));
  const port = httpServer.address().port;
  const sockA = t.socket(`ws://127.0.0.1:${port}/own`, { resume: { idField: 'id' }, heartbeat: false });
  const got = [];
  sockA.on('message', (d) => got.push(JSON.parse(String(d)).data));
  await onceWithin(sockA, 'open', 5000);
  await viaWss.publish('via wss');
  await waitFor(() => got.length === 1, 5000, 'the event via the attached wss');
  expect(got).toEqual(['via wss']);
  wss.close();

  const other = http.createServer();
  await new Promise((resolve) => other.listen(0, '127.0.0.1', resolve));
  const viaServer = t.add(new ResilientServer({ server: other, path: '/feed', store: new MemoryStore({ firstId: 7 }) }));
  t.add({ close: () => new Promise((resolve) => other.close(resolve)) });
  const sockB = t.socket(`ws://127.0.0.1:${other.address().port}/feed`, { heartbeat: false });
  const gotB = [];
  sockB.on('message', (d) => gotB.push(JSON.parse(String(d))));
  await onceWithin(sockB, 'open', 5000);
  await viaServer.publish({ n: 1 });
  await waitFor(() => gotB.length === 1, 5000, 'the event via the http server');
  expect(gotB).toEqual([{ id: 7, type: 'event', data: { n: 1 } }]);
});

test('streams: ids are per stream, and a client gets only the stream its request maps to', async () => {
  const server = await startServer({ stream: (req) => new URL(req.url, 'http://x').pathname.slice(1) || 'default' });
  const a = t.socket(`ws://127.0.0.1:${server.port}/prices`, { heartbeat: false });
  const b = t.socket(`ws://127.0.0.1:${server.port}/news`, { heartbeat: false });
  const got = { a: [], b: [] };
  a.on('message', (d) => got.a.push(JSON.parse(String(d))));
  b.on('message', (d) => got.b.push(JSON.parse(String(d))));
  await Promise.all([onceWithin(a, 'open', 5000), onceWithin(b, 'open', 5000)]);
  expect(await server.publish('p1', { stream: 'prices' })).toBe(1);
  expect(await server.publish('n1', { stream: 'news' })).toBe(1);
  expect(await server.publish('p2', { stream: 'prices' })).toBe(2);
  await waitFor(() => got.a.length === 2 && got.b.length === 1, 5000, 'the events of both streams');
  expect(got.a.map((m) => [m.id, m.data])).toEqual([[1, 'p1'], [2, 'p2']]);
  expect(got.b.map((m) => [m.id, m.data])).toEqual([[1, 'n1']]);
});

test('the memory store stays within maxEvents, maxBytes and maxAge', async () => {
  const store = new MemoryStore({ firstId: 1, maxEvents: 100, maxBytes: 64 * 1024, maxAge: 0 });
  for (let i = 0; i < 500; i++) await store.append('s', JSON.stringify('x'.repeat(1000)));
  const { events, oldest, latest } = await store.read('s', 0, 1000);
  expect(latest).toBe(500);
  expect(events.length).toBeLessThanOrEqual(100);
  expect(events.length * 1000).toBeLessThanOrEqual(64 * 1024); // bytes bound wins here
  expect(events[0].id).toBe(oldest);
  expect(events[events.length - 1].id).toBe(500);
  const aged = new MemoryStore({ firstId: 1, maxAge: 50 });
  await aged.append('s', '1');
  await quietPeriod(80);
  await aged.append('s', '2');
  expect((await aged.read('s', 0, 10)).events.map((e) => e.id)).toEqual([2]);
  const keys = new MemoryStore({ maxKeys: 3 });
  for (const k of ['a', 'b', 'c', 'd']) {
    expect(await keys.claimKey(k, 1000)).toBe('claimed');
    await keys.completeKey(k, 60000);
  }
  expect(keys.keys.size).toBe(3);
  expect(await keys.claimKey('d', 1000)).toBe('done');
  expect(await keys.claimKey('a', 1000)).toBe('claimed'); // the oldest was evicted
  await Promise.all([store.close(), aged.close(), keys.close()]);
});

test('invalid options throw TypeError/RangeError with code ERR_INVALID_OPTION naming the option', () => {
  const bad = [
    [{}, TypeError, /exactly one of options wss/],
    [{ port: 0, wss: {} }, TypeError, /exactly one/],
    [{ port: -1 }, RangeError, /port/],
    [{ port: 0, ping: { interval: 'fast' } }, TypeError, /ping\.interval/],
    [{ port: 0, resume: { query: 'a b' } }, TypeError, /resume\.query/],
    [{ port: 0, resume: { sync: { match: {} } } }, TypeError, /resume\.sync\.match/],
    [{ port: 0, ack: { match: { type: {} } } }, TypeError, /ack\.match\.type/],
    [{ port: 0, store: {} }, TypeError, /store must implement/],
    [{ port: 0, onMessage: 'x' }, TypeError, /onMessage/],
    [{ port: 0, keyTtl: 5 }, RangeError, /keyTtl/],
    [{ port: 0, pingInterval: 5 }, TypeError, /Unknown option pingInterval/],
  ];
  for (const [options, Type, message] of bad) {
    let err = null;
    try { new ResilientServer(options); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(Type);
    expect(err.code).toBe('ERR_INVALID_OPTION');
    expect(err.message).toMatch(message);
  }
  expect(() => new MemoryStore({ maxEvents: 0 })).toThrow(RangeError);
  expect(() => new MemoryStore({ firstid: 1 })).toThrow(/Unknown option MemoryStore\.firstid/);
});

test('publish() rejects data that is not JSON and reports shutdown reasons it does not know', async () => {
  const server = await startServer({});
  await expect(server.publish(undefined)).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
  await expect(server.publish(1, { stream: '' })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
  expect(() => server.shutdown({ reason: 'reboot' })).toThrow(/'restart' or 'deploy'/);
});

test("require('resilient-ws/server') and import from it both work (package exports)", () => {
  const { execFileSync } = require('child_process');
  const root = require('path').join(__dirname, '..', '..');
  const esm = execFileSync(process.execPath, ['--input-type=module', '-e',
    "import { ResilientServer, MemoryStore, RedisStore, SHUTDOWN_CODES } from 'resilient-ws/server'; console.log([typeof ResilientServer, typeof MemoryStore, typeof RedisStore, SHUTDOWN_CODES.restart].join(' '));",
  ], { cwd: root, encoding: 'utf8', timeout: 10000 });
  expect(esm.trim()).toBe('function function function 1012');
  const cjs = execFileSync(process.execPath, ['-e', "console.log(Object.keys(require('resilient-ws/server')).join(' '))"], { cwd: root, encoding: 'utf8', timeout: 10000 });
  expect(cjs.trim()).toBe('ResilientServer MemoryStore RedisStore SHUTDOWN_CODES');
});
