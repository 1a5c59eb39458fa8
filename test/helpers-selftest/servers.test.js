'use strict';

const net = require('net');
const WebSocket = require('ws');
const { startWsServer, startTcpBlackholeServer } = require('../helpers/servers');
const { onceWithin, waitFor, withDeadline } = require('../helpers/deadline');

const toClean = [];
afterEach(async () => {
  for (const fn of toClean.splice(0).reverse()) await fn();
});

function client(url, protocols, opts) {
  const ws = new WebSocket(url, protocols, opts);
  const messages = [];
  ws.on('error', () => {}); // tests that care await 'error' themselves
  ws.on('message', (d, isBinary) => messages.push(isBinary ? d : d.toString()));
  toClean.push(async () => ws.terminate());
  return { ws, messages };
}

function refusedOn(port) {
  return withDeadline(new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.on('error', (e) => resolve(e.code));
    s.on('connect', () => { s.destroy(); resolve('connected'); });
  }), 3000, 'a TCP outcome');
}

describe('startWsServer', () => {
  test('echoes text and binary and records handshake details', async () => {
    const srv = await startWsServer();
    toClean.push(() => srv.close());
    const { ws, messages } = client(srv.urlFor('/feed?after=3'), ['chat', 'v2'], { headers: { 'X-Token': 'abc' } });
    await onceWithin(ws, 'open', 3000);
    expect(ws.protocol).toBe('chat'); // ws default: the first offered
    ws.send('text');
    ws.send(Buffer.from([9, 8]));
    await waitFor(() => messages.length === 2, 3000, 'two echoes');
    expect(messages[0]).toBe('text');
    expect(Buffer.isBuffer(messages[1]) && [...messages[1]]).toEqual([9, 8]);

    const conn = await srv.nextConnection();
    expect(conn).toMatchObject({ url: '/feed?after=3', protocols: ['chat', 'v2'], protocol: 'chat' });
    expect(conn.headers['x-token']).toBe('abc');
    expect(conn.messages.map((m) => m.isBinary)).toEqual([false, true]);
    expect(srv.handshakes).toEqual([expect.objectContaining({ url: '/feed?after=3', rejectedWith: null })]);
    expect(srv.clientCount()).toBe(1);
  });

  test('rejects with 503 + Retry-After, then 401, then accepts after setReject(null)', async () => {
    const srv = await startWsServer({ reject: { status: 503, headers: { 'Retry-After': '7' } } });
    toClean.push(() => srv.close());

    const a = client(srv.url);
    const [, res503] = await onceWithin(a.ws, 'unexpected-response', 3000);
    expect(res503.statusCode).toBe(503);
    expect(res503.headers['retry-after']).toBe('7');
    res503.resume();
    a.ws.terminate();

    srv.setReject((req) => (req.headers.authorization ? null : { status: 401 }));
    const b = client(srv.url);
    const [, res401] = await onceWithin(b.ws, 'unexpected-response', 3000);
    expect(res401.statusCode).toBe(401);
    res401.resume();
    b.ws.terminate();

    const c = client(srv.url, [], { headers: { Authorization: 'Bearer ok' } });
    await onceWithin(c.ws, 'open', 3000);
    expect(srv.handshakes.map((h) => h.rejectedWith)).toEqual([503, 401, null]);
  });

  test('terminateAll drops connections without a close frame', async () => {
    const srv = await startWsServer();
    toClean.push(() => srv.close());
    const { ws } = client(srv.url);
    await onceWithin(ws, 'open', 3000);
    srv.terminateAll();
    const [code] = await onceWithin(ws, 'close', 3000);
    expect(code).toBe(1006);
  });

  test('close() ends clients and frees the port', async () => {
    const srv = await startWsServer();
    const { ws } = client(srv.url);
    await onceWithin(ws, 'open', 3000);
    await srv.close();
    await onceWithin(ws, 'close', 3000);
    expect(await refusedOn(srv.port)).toBe('ECONNREFUSED');
    await srv.close(); // idempotent
  });
});

describe('startTcpBlackholeServer', () => {
  test('accepts TCP but never answers the upgrade', async () => {
    const srv = await startTcpBlackholeServer();
    toClean.push(() => srv.stop());
    const { ws } = client(srv.url, [], { handshakeTimeout: 300 });
    const [err] = await onceWithin(ws, 'error', 3000);
    expect(err.message).toMatch(/Opening handshake has timed out/);
    expect(srv.accepted).toBe(1);
  });

  test('stop() destroys held connections', async () => {
    const srv = await startTcpBlackholeServer();
    const s = net.connect({ host: '127.0.0.1', port: srv.port });
    s.on('error', () => {});
    await onceWithin(s, 'connect', 3000);
    await waitFor(() => srv.connections() === 1, 3000, 'the accept');
    await srv.stop();
    await onceWithin(s, 'close', 3000);
    expect(srv.connections()).toBe(0);
  });
});
