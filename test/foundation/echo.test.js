'use strict';

// Round trips through a real `ws` server: message types, receipts, a large message, ordering
// under load, and what the server sees of the handshake (subprotocol, headers, query).

const crypto = require('crypto');
const { startWsServer } = require('../helpers/servers');
const { waitFor, withDeadline } = require('../helpers/deadline');
const { makeTracker, next } = require('./support');

const t = makeTracker();
afterEach(() => t.cleanup());

async function openEcho(opts) {
  const server = t.add(await startWsServer());
  const sock = t.socket(server.url, opts);
  await next(sock, 'open');
  return { server, sock };
}

test('a string arrives as a string and a Buffer as a Buffer, each send() resolving a written receipt', async () => {
  const { server, sock } = await openEcho();
  const received = [];
  sock.on('message', (data, info) => received.push({ data, info }));

  const textReceipt = await withDeadline(sock.send('héllo ✓'), 5000, 'text receipt');
  const binReceipt = await withDeadline(sock.send(Buffer.from([0, 1, 2, 255])), 5000, 'binary receipt');
  await waitFor(() => received.length === 2, 5000, 'two echoes');

  expect(typeof received[0].data).toBe('string');
  expect(received[0].data).toBe('héllo ✓');
  expect(received[0].info.replayed).toBe(false);
  expect(Buffer.isBuffer(received[1].data)).toBe(true);
  expect([...received[1].data]).toEqual([0, 1, 2, 255]);

  for (const receipt of [textReceipt, binReceipt]) {
    expect(receipt).toEqual({ key: expect.any(String), seq: expect.any(Number), status: 'written' });
    expect(receipt.key.length).toBeGreaterThan(0);
  }
  expect(binReceipt.seq).toBe(textReceipt.seq + 1);
  expect(binReceipt.key).not.toBe(textReceipt.key);

  // The server saw the types the client sent.
  const conn = server.connections[0];
  expect(conn.messages).toEqual([
    { data: 'héllo ✓', isBinary: false },
    { data: Buffer.from([0, 1, 2, 255]), isBinary: true },
  ]);
});

test('send() with an explicit key resolves with that key', async () => {
  const { sock } = await openEcho();
  const receipt = await withDeadline(sock.send('keyed', { key: 'order-42' }), 5000, 'receipt');
  expect(receipt.key).toBe('order-42');
  expect(receipt.status).toBe('written');
});

test('an 8 MiB binary message makes the round trip intact', async () => {
  const { sock } = await openEcho();
  const payload = crypto.randomBytes(8 * 1024 * 1024);
  const echoed = next(sock, 'message', 20000);
  const receipt = await withDeadline(sock.send(payload), 20000, '8 MiB receipt');
  expect(receipt.status).toBe('written');
  const data = await echoed;
  expect(Buffer.isBuffer(data)).toBe(true);
  expect(data.length).toBe(payload.length);
  expect(data.equals(payload)).toBe(true);
});

test('10,000 small messages sent back-to-back arrive in order at the server and back', async () => {
  const { server, sock } = await openEcho();
  const N = 10000;
  const received = [];
  sock.on('message', (data) => received.push(data));

  const receipts = [];
  for (let i = 0; i < N; i++) receipts.push(sock.send(`m${i}`));
  const settled = await withDeadline(Promise.all(receipts), 20000, '10,000 receipts');
  // Sequence numbers follow the order of the send() calls.
  for (let i = 1; i < N; i++) expect(settled[i].seq).toBe(settled[i - 1].seq + 1);

  await waitFor(() => received.length >= N, 20000, `${N} echoes (got ${received.length})`);
  const conn = server.connections[0];
  const serverSaw = conn.messages.map((m) => m.data);
  const expected = Array.from({ length: N }, (_, i) => `m${i}`);
  expect(serverSaw).toEqual(expected);
  expect(received).toEqual(expected);
});

test('the chosen subprotocol, custom headers and the URL query reach the server', async () => {
  const server = t.add(await startWsServer({
    handleProtocols: (offered) => (offered.has('v2.chat') ? 'v2.chat' : false),
  }));
  const sock = t.socket(server.urlFor('/feed/x?room=a%20b&n=1&n=2'), {
    protocols: ['v1.chat', 'v2.chat'],
    headers: { Authorization: 'Bearer secret-token', 'X-Trace': 'abc' },
  });
  const open = await next(sock, 'open');
  expect(open.protocol).toBe('v2.chat');
  expect(open.reconnected).toBe(false);
  expect(open.attempt).toBe(1);

  const conn = await server.nextConnection();
  expect(conn.protocols).toEqual(['v1.chat', 'v2.chat']);
  expect(conn.protocol).toBe('v2.chat');
  expect(conn.headers.authorization).toBe('Bearer secret-token');
  expect(conn.headers['x-trace']).toBe('abc');
  expect(conn.url).toBe('/feed/x?room=a%20b&n=1&n=2'); // the server gets the query as it was
  expect(sock.url).toBe(server.urlFor('/feed/x?room=***&n=***&n=***')); // events and url mask its values
});

test('sockets made with equal options keep their own state; one differing option keeps its own value', async () => {
  // Sockets with equal options share one native copy of their configuration (memory per idle
  // socket): nothing a socket changes may reach another, and equal must mean equal.
  const server = t.add(await startWsServer());
  const options = { headers: { 'X-Tenant': 'a' }, reconnect: { initialDelay: 10, maxDelay: 50 } };
  const first = t.socket(server.url, { ...options, headers: { ...options.headers } });
  const second = t.socket(server.url, { ...options, headers: { ...options.headers } });
  const other = t.socket(server.url, { ...options, headers: { 'X-Tenant': 'b' } });
  await Promise.all([next(first, 'open'), next(second, 'open'), next(other, 'open')]);
  const tenants = server.connections.map((c) => c.headers['x-tenant']).sort();
  expect(tenants).toEqual(['a', 'a', 'b']);

  first.reconnect();
  const reopened = await next(first, 'open');
  expect(reopened.reconnected).toBe(true);
  expect(first.stats().reconnects).toBe(1);
  expect(second.stats().reconnects).toBe(0);
  expect(second.state).toBe('open');
  expect(server.connections.at(-1).headers['x-tenant']).toBe('a');

  const echoed = next(second, 'message');
  await second.send('still mine');
  expect(await echoed).toBe('still mine');
});
