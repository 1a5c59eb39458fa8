'use strict';

const WebSocket = require('ws');
const {
  startRawServer, buildFrame, parseFrames, closePayload, acceptKey,
} = require('../helpers/raw-server');
const { onceWithin, waitFor, withDeadline } = require('../helpers/deadline');

describe('buildFrame / parseFrames (pure)', () => {
  test('RFC 6455 accept key example', () => {
    expect(acceptKey('dGhlIHNhbXBsZSBub25jZQ==')).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  test('minimal length encodings: 7, 16 and 64 bit', () => {
    expect([...buildFrame({ payload: 'hi' })]).toEqual([0x81, 2, 0x68, 0x69]);
    const f16 = buildFrame({ opcode: 'binary', payload: Buffer.alloc(300) });
    expect([...f16.subarray(0, 4)]).toEqual([0x82, 126, 0x01, 0x2c]);
    const f64 = buildFrame({ opcode: 'binary', payload: Buffer.alloc(70000) });
    expect(f64[1]).toBe(127);
    expect(f64.readBigUInt64BE(2)).toBe(70000n);
    expect(f64.length).toBe(10 + 70000);
  });

  test('lies: a 1 TiB declared length with no payload, RSV bits, reserved opcode', () => {
    const lie = buildFrame({ opcode: 'binary', lengthOverride: 2n ** 40n });
    expect([...lie]).toEqual([0x82, 127, 0, 0, 1, 0, 0, 0, 0, 0]);
    const rsv = buildFrame({ rsv1: true, rsv2: true, rsv3: true, opcode: 3, fin: false });
    expect(rsv[0]).toBe(0x73);
    const nonMinimal = buildFrame({ payload: 'x', lengthEncoding: 64 });
    expect(nonMinimal[1]).toBe(127);
    expect(nonMinimal.readBigUInt64BE(2)).toBe(1n);
  });

  test('masked frames round-trip through parseFrames; partial input is kept', () => {
    const a = buildFrame({ payload: 'hello', mask: true });
    const b = buildFrame({ opcode: 'close', payload: closePayload(1002, 'bad'), mask: Buffer.from([1, 2, 3, 4]) });
    expect(a[1] & 0x80).toBe(0x80);
    const whole = Buffer.concat([a, b]);
    const partial = parseFrames(whole.subarray(0, whole.length - 1));
    expect(partial.frames.map((f) => f.text)).toEqual(['hello']);
    expect(partial.rest.length).toBe(b.length - 1);
    const { frames, rest } = parseFrames(whole);
    expect(rest.length).toBe(0);
    expect(frames[1]).toMatchObject({ type: 'close', code: 1002, reason: 'bad', masked: true });
  });

  test('parseFrames refuses to buffer a huge declared length', () => {
    expect(() => parseFrames(buildFrame({ lengthOverride: 2n ** 40n }))).toThrow(/declares/);
  });
});

describe('startRawServer with a ws client', () => {
  let srv;
  const clients = [];

  afterEach(async () => {
    for (const ws of clients.splice(0)) ws.terminate();
    if (srv) await srv.stop();
    srv = null;
  });

  function connect(opts = {}, path = '/') {
    const ws = new WebSocket(srv.urlFor(path), opts.protocols || [], opts);
    const seen = { messages: [], errors: [], closes: [], unexpected: [] };
    ws.on('message', (d, isBinary) => seen.messages.push(isBinary ? d : d.toString()));
    ws.on('error', (e) => seen.errors.push(e));
    ws.on('close', (code, reason) => seen.closes.push({ code, reason: reason.toString() }));
    clients.push(ws);
    return { ws, seen };
  }

  test('readUpgrade parses the request; acceptUpgrade completes the handshake', async () => {
    srv = await startRawServer();
    const { ws, seen } = connect({ protocols: ['chat', 'v2'], headers: { Authorization: 'Bearer t' } }, '/feed?after=7');
    const conn = await srv.nextConnection();
    const req = await conn.readUpgrade();
    expect(req).toMatchObject({
      method: 'GET', path: '/feed?after=7', pathname: '/feed', query: { after: '7' }, protocols: ['chat', 'v2'],
    });
    expect(req.headers.authorization).toBe('Bearer t');
    await conn.acceptUpgrade({ protocol: 'v2', extraHeaders: { 'X-Server': 'raw' } });
    await onceWithin(ws, 'open', 3000);
    expect(ws.protocol).toBe('v2');

    await conn.sendText('héllo');
    await conn.sendBinary(Buffer.from([1, 2, 3]));
    await waitFor(() => seen.messages.length === 2, 3000, 'two messages');
    expect(seen.messages[0]).toBe('héllo');
    expect([...seen.messages[1]]).toEqual([1, 2, 3]);

    ws.send('from client');
    const f = await conn.nextFrame();
    expect(f).toMatchObject({ type: 'text', text: 'from client', masked: true, fin: true });
    ws.close(4001, 'bye');
    const close = await conn.waitForClose();
    expect(close).toMatchObject({ code: 4001, reason: 'bye' });
  });

  test('readFrames iterates client frames until the connection closes', async () => {
    srv = await startRawServer({
      async onConnection(conn) {
        await conn.acceptUpgrade();
      },
    });
    const { ws } = connect();
    await onceWithin(ws, 'open', 3000);
    const conn = srv.connections[0];
    ws.send('a');
    ws.send(Buffer.from('b'));
    ws.ping('p');
    ws.close(1000);
    const types = [];
    const iterate = (async () => {
      for await (const f of conn.readFrames(3000)) {
        types.push(f.type);
        if (f.type === 'close') await conn.sendClose(1000); // finish the closing handshake
      }
    })();
    await withDeadline(iterate, 4000, 'the frame iterator to end');
    expect(types).toEqual(['text', 'binary', 'ping', 'close']);
    expect(srv.errors).toEqual([]);
  });

  test('a wrong Sec-WebSocket-Accept fails the client handshake', async () => {
    srv = await startRawServer({ onConnection: (conn) => conn.acceptUpgrade({ badAccept: true }) });
    const { ws } = connect();
    const [err] = await onceWithin(ws, 'error', 3000);
    expect(err.message).toMatch(/Invalid Sec-WebSocket-Accept/);
  });

  test('respondHttp answers 503 with Retry-After', async () => {
    srv = await startRawServer({ onConnection: (conn) => conn.respondHttp(503, { 'Retry-After': '7' }, 'busy') });
    const { ws } = connect();
    const [, res] = await onceWithin(ws, 'unexpected-response', 3000);
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('7');
    res.resume();
    ws.terminate();
  });

  test('a masked server frame makes the client close with 1002', async () => {
    srv = await startRawServer({
      async onConnection(conn) {
        await conn.acceptUpgrade();
        await conn.frame({ opcode: 'text', payload: 'masked!', mask: true });
      },
    });
    const { ws, seen } = connect();
    await onceWithin(ws, 'open', 3000);
    const conn = srv.connections[0];
    const close = await conn.waitForClose();
    expect(close.code).toBe(1002);
    await waitFor(() => seen.errors.length > 0, 3000, 'the client error');
    expect(seen.errors[0].code).toBe('WS_ERR_UNEXPECTED_MASK');
  });

  test('a 1 TiB length lie makes the client close with 1009', async () => {
    srv = await startRawServer({
      async onConnection(conn) {
        await conn.acceptUpgrade();
        await conn.frame({ opcode: 'binary', lengthOverride: 2n ** 40n });
      },
    });
    const { ws } = connect();
    await onceWithin(ws, 'open', 3000);
    const close = await srv.connections[0].waitForClose();
    expect(close.code).toBe(1009);
  });

  test('trickle delivers a frame one byte per tick', async () => {
    const payload = 'trickled text';
    srv = await startRawServer({
      async onConnection(conn) {
        await conn.acceptUpgrade();
        await conn.trickle(buildFrame({ payload }), 1);
      },
    });
    const { ws, seen } = connect();
    await onceWithin(ws, 'open', 3000);
    await waitFor(() => seen.messages.length === 1, 5000, 'the trickled message');
    expect(seen.messages[0]).toBe(payload);
  });

  test('trickle really splits the bytes into separate TCP reads', async () => {
    srv = await startRawServer({ onConnection: (conn) => conn.trickle('abcdefgh', 2, 5) });
    const net = require('net');
    const s = net.connect({ host: '127.0.0.1', port: srv.port });
    const reads = [];
    s.on('data', (d) => reads.push(d.toString('latin1')));
    await onceWithin(s, 'connect', 3000);
    await waitFor(() => reads.join('') === 'abcdefgh', 3000, 'all trickled bytes');
    s.destroy();
    expect(reads.length).toBeGreaterThanOrEqual(2);
  });

  test('neverAnswer leaves the client waiting for its handshake timeout', async () => {
    srv = await startRawServer({ onConnection: (conn) => conn.neverAnswer() });
    const { ws } = connect({ handshakeTimeout: 300 });
    const [err] = await onceWithin(ws, 'error', 3000);
    expect(err.message).toMatch(/Opening handshake has timed out/);
    expect(srv.connections).toHaveLength(1);
  });

  test('reset sends an RST mid-connection', async () => {
    srv = await startRawServer({ onConnection: (conn) => conn.acceptUpgrade() });
    const { ws, seen } = connect();
    await onceWithin(ws, 'open', 3000);
    const socketErrors = [];
    ws._socket.on('error', (e) => socketErrors.push(e.code)); // ws hides socket errors after open
    srv.connections[0].reset();
    await waitFor(() => seen.closes.length === 1, 3000, 'the client close');
    expect(seen.closes[0].code).toBe(1006);
    expect(socketErrors).toContain('ECONNRESET');
  });

  test('stop destroys open connections and rejects pending waits', async () => {
    srv = await startRawServer({ onConnection: (conn) => conn.acceptUpgrade() });
    const { ws, seen } = connect();
    await onceWithin(ws, 'open', 3000);
    await expect(srv.nextConnection(1000)).resolves.toBe(srv.connections[0]);
    const pendingFrame = srv.connections[0].nextFrame(5000);
    const pendingConnection = srv.nextConnection(5000);
    await srv.stop();
    await expect(pendingFrame).rejects.toThrow(/closed/);
    await expect(pendingConnection).rejects.toThrow(/stopped/);
    await waitFor(() => seen.closes.length === 1, 3000, 'the client close');
  });
});
