'use strict';

const net = require('net');
const WebSocket = require('ws');
const { startFaultProxy } = require('../helpers/fault-proxy');
const { startWsServer } = require('../helpers/servers');
const { withDeadline, onceWithin, waitFor, quietPeriod } = require('../helpers/deadline');

/** Opens a `ws` client and records what happens to it. */
async function openClient(url) {
  const ws = new WebSocket(url);
  const client = { ws, messages: [], errors: [], closes: [] };
  ws.on('message', (data, isBinary) => client.messages.push(isBinary ? data : data.toString()));
  ws.on('error', (err) => client.errors.push(err));
  ws.on('close', (code, reason) => client.closes.push({ code, reason: reason.toString() }));
  await onceWithin(ws, 'open', 5000);
  return client;
}

/** Connects a plain TCP socket and resolves with the error it ends with (or 'closed'). */
function tcpOutcome(port) {
  return withDeadline(new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.on('error', (err) => resolve(err.code));
    s.on('close', () => resolve('closed'));
    s.on('connect', () => s.write('GET / HTTP/1.1\r\n\r\n'));
  }), 5000, 'a TCP outcome');
}

let server;
let proxy;
const clients = [];

beforeEach(async () => {
  server = await startWsServer();
  proxy = await startFaultProxy({ target: { port: server.port } });
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.ws.terminate();
  await proxy.stop();
  await server.close();
});

async function client(path = '/') {
  const c = await openClient(proxy.url(path));
  clients.push(c);
  return c;
}

test('pass: forwards both ways, logs the request line and counts connections', async () => {
  const c = await client('/feed?after=5');
  c.ws.send('hello');
  await waitFor(() => c.messages.includes('hello'), 3000, 'the echo');
  expect(proxy.requests).toEqual([
    { line: 'GET /feed?after=5 HTTP/1.1', method: 'GET', target: '/feed?after=5', connection: 1 },
  ]);
  expect(proxy.accepted).toBe(1);
  expect(proxy.connections()).toBe(1);
  expect(server.handshakes[0].url).toBe('/feed?after=5');
  expect(proxy.url('/x')).toBe(`ws://127.0.0.1:${proxy.port}/x`);
});

test('blackhole: nothing arrives either way and no close happens', async () => {
  const c = await client();
  const serverConn = await server.nextConnection(3000);
  await proxy.setMode('blackhole');
  c.ws.send('lost');
  serverConn.ws.send('also lost');
  await quietPeriod(500); // negative assertion: nothing may happen in this window
  expect(serverConn.messages).toEqual([]);
  expect(c.messages).toEqual([]);
  expect(c.closes).toEqual([]);
  expect(c.errors).toEqual([]);
  expect(c.ws.readyState).toBe(WebSocket.OPEN);
  expect(proxy.connections()).toBe(1);
});

test('blackhole: a client that closes is not noticed by the server', async () => {
  const c = await client();
  const serverConn = await server.nextConnection(3000);
  await proxy.setMode('blackhole');
  c.ws.terminate();
  await onceWithin(c.ws, 'close', 2000);
  await quietPeriod(200);
  expect(serverConn.ws.readyState).toBe(WebSocket.OPEN);
});

/** Opens a raw TCP connection through the proxy; resolves once the proxy has paired it. */
async function rawThroughProxy() {
  const before = proxy.accepted;
  const s = net.connect({ host: '127.0.0.1', port: proxy.port });
  const outcome = new Promise((resolve) => {
    s.on('error', (err) => resolve(err.code));
    s.on('close', () => resolve('closed'));
  });
  await onceWithin(s, 'connect', 3000);
  await waitFor(() => proxy.accepted > before, 3000, 'the proxy to accept');
  return { socket: s, outcome: withDeadline(outcome, 5000, 'the raw socket outcome') };
}

test('reset: open connections and new ones get ECONNRESET', async () => {
  // ws swallows socket errors after the handshake, so the RST is observed on a raw socket;
  // the ws client shows it as an abnormal close (1006).
  const c = await client();
  const raw = await rawThroughProxy();
  await proxy.setMode('reset');
  expect(await raw.outcome).toBe('ECONNRESET');
  await waitFor(() => c.closes.length === 1, 3000, 'the client close');
  expect(c.closes[0].code).toBe(1006);
  expect(await tcpOutcome(proxy.port)).toBe('ECONNRESET');
});

test('resetAll: resets without changing the mode', async () => {
  const raw = await rawThroughProxy();
  proxy.resetAll();
  expect(await raw.outcome).toBe('ECONNRESET');
  const again = await client();
  again.ws.send('still works');
  await waitFor(() => again.messages.includes('still works'), 3000, 'the echo');
});

test('refuse: genuine ECONNREFUSED on the same port, then listens again', async () => {
  const { port } = proxy;
  const c = await client();
  await proxy.refuse(true);
  expect(await tcpOutcome(port)).toBe('ECONNREFUSED');
  c.ws.send('existing connection unaffected');
  await waitFor(() => c.messages.length === 1, 3000, 'the echo on the old connection');
  await proxy.refuse(false);
  expect(proxy.port).toBe(port);
  const d = await client();
  d.ws.send('back');
  await waitFor(() => d.messages.includes('back'), 3000, 'the echo after refuse(false)');
});

test('close mode: FIN without a close frame (1006), new connections closed at once', async () => {
  const c = await client();
  await proxy.setMode('close');
  await waitFor(() => c.closes.length === 1, 3000, 'the client close');
  expect(c.closes[0].code).toBe(1006);
  expect(await tcpOutcome(proxy.port)).toBe('closed');
});

test('latency delays each direction and keeps order when changed mid-stream', async () => {
  const c = await client();
  proxy.setLatency(150);
  const started = Date.now();
  c.ws.send('ping-1');
  await waitFor(() => c.messages.includes('ping-1'), 3000, 'the delayed echo');
  // 150 ms each way; timers may fire a few ms early relative to Date.now() granularity.
  expect(Date.now() - started).toBeGreaterThanOrEqual(280);

  proxy.setLatency(200);
  for (let i = 0; i < 20; i += 1) {
    if (i === 10) proxy.setLatency(0); // later chunks must not overtake earlier ones
    c.ws.send(`m${i}`);
  }
  await waitFor(() => c.messages.length === 21, 5000, '20 echoes');
  expect(c.messages.slice(1)).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`));
});

test('stall holds data and pass delivers it', async () => {
  const c = await client();
  await proxy.setMode('stall');
  c.ws.send('held');
  await quietPeriod(200);
  expect(c.messages).toEqual([]);
  await proxy.setMode('pass');
  await waitFor(() => c.messages.includes('held'), 3000, 'the held message');
});

test('bandwidth limit slows a large message down', async () => {
  const c = await client();
  proxy.setBandwidth(200 * 1024); // 200 KiB/s per direction
  const started = Date.now();
  c.ws.send(Buffer.alloc(40 * 1024, 1)); // ~0.2 s each way
  await waitFor(() => c.messages.length === 1, 5000, 'the echo');
  expect(Date.now() - started).toBeGreaterThanOrEqual(300);
  expect(c.messages[0].length).toBe(40 * 1024);
});

test('stop closes everything and refuses afterwards', async () => {
  const c = await client();
  const { port } = proxy;
  await proxy.stop();
  await waitFor(() => c.closes.length === 1, 3000, 'the client close');
  expect(proxy.connections()).toBe(0);
  expect(await tcpOutcome(port)).toBe('ECONNREFUSED');
  await proxy.stop(); // idempotent
});

test('rejects unknown modes', async () => {
  await expect(proxy.setMode('flaky')).rejects.toThrow(RangeError);
});
