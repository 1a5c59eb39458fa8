'use strict';

// TLS against a real HTTPS `ws` server with throwaway certificates:
// a valid chain opens; self-signed, wrong-host and expired certificates end in one 'failed'
// with ERR_TLS_VERIFY and OpenSSL's reason, after exactly one attempt (no retry storm).

const crypto = require('crypto');
const https = require('https');
const { WebSocketServer } = require('ws');
const { startTlsWsServer } = require('../helpers/servers');
const { makeCerts, opensslAvailable } = require('../helpers/certs');
const { waitFor, withDeadline } = require('../helpers/deadline');
const { makeTracker, recordEvents, next } = require('./support');

const t = makeTracker();
let certs = null;
let skip = false;

beforeAll(async () => {
  if (!(await opensslAvailable())) {
    skip = true;
    console.log('SKIP: TLS tests need the openssl CLI (apt-get install openssl)');
    return;
  }
  certs = await makeCerts();
}, 30000);

afterAll(() => {
  if (certs) certs.cleanup();
});
afterEach(() => t.cleanup());

const maybe = (name, fn) => test(name, async () => {
  if (skip) return;
  await fn();
});

maybe('a certificate issued by the trusted CA opens, and echoes work over TLS', async () => {
  const server = t.add(await startTlsWsServer({ cert: certs.valid.cert, key: certs.valid.key }));
  const sock = t.socket(server.url, { tls: { ca: certs.ca.cert } });
  const open = await next(sock, 'open');
  expect(open.url).toBe(server.url);
  const echoed = next(sock, 'message');
  await withDeadline(sock.send('over tls'), 5000, 'receipt');
  expect(await echoed).toBe('over tls');
  expect(server.tlsErrors).toEqual([]);
});

const rejected = [
  ['a self-signed certificate', () => certs.selfSigned, /self[- ]signed/i],
  ['a certificate for another host', () => certs.wrongHost, /hostname mismatch/i],
  ['an expired certificate', () => certs.expired, /certificate has expired/i],
];

describe.each(rejected)('%s', (label, pair, reasonPattern) => {
  maybe('fails with ERR_TLS_VERIFY and the reason, after exactly one attempt', async () => {
    const server = t.add(await startTlsWsServer({ cert: pair().cert, key: pair().key }));
    // Fast retries: if verification failures were retried, several attempts would show up.
    const sock = t.socket(server.url, {
      tls: { ca: certs.ca.cert },
      reconnect: { initialDelay: 10, maxDelay: 20 },
    });
    const log = recordEvents(sock);
    const closed = next(sock, 'close'); // arrives in the same batch as 'failed'
    const { error } = await next(sock, 'failed');
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe('ERR_TLS_VERIFY');
    expect(typeof error.reason).toBe('string');
    expect(error.reason).toMatch(reasonPattern);
    await closed;
    expect(sock.state).toBe('failed');
    expect(log.filter(([name]) => name === 'connecting')).toHaveLength(1);
    expect(log.filter(([name]) => name === 'reconnecting')).toHaveLength(0);
    expect(log.filter(([name]) => name === 'open')).toHaveLength(0);
    expect(server.connections).toHaveLength(0);
  });
});

maybe('rejectUnauthorized: false connects to a self-signed server', async () => {
  const server = t.add(await startTlsWsServer({ cert: certs.selfSigned.cert, key: certs.selfSigned.key }));
  const sock = t.socket(server.url, { tls: { rejectUnauthorized: false } });
  await next(sock, 'open');
  const echoed = next(sock, 'message');
  await withDeadline(sock.send('insecure but on purpose'), 5000, 'receipt');
  expect(await echoed).toBe('insecure but on purpose');
});

/**
 * An HTTPS `ws` server whose connections call `onConnection(ws)`; every connection is recorded.
 * Closed by the tracker.
 */
async function tlsServer(onConnection) {
  const httpsServer = https.createServer({ cert: certs.valid.cert, key: certs.valid.key });
  const wss = new WebSocketServer({ server: httpsServer, perMessageDeflate: false });
  const connections = [];
  wss.on('connection', (ws) => {
    ws.on('error', () => {});
    connections.push(ws);
    onConnection(ws, connections.length);
  });
  await new Promise((resolve) => httpsServer.listen({ host: '127.0.0.1', port: 0 }, resolve));
  t.add({
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      await new Promise((resolve) => wss.close(resolve));
      httpsServer.closeAllConnections();
      await new Promise((resolve) => httpsServer.close(resolve));
    },
  });
  return { url: `wss://localhost:${httpsServer.address().port}/`, connections };
}

const digest = (data) => crypto.createHash('sha256').update(data).digest('hex');

maybe('a server that stops reading for a while gets every message intact and in order, and its echoes come back whole', async () => {
  // 8 MiB in one tick fills the socket (records wait for room), and the echoes arrive as many
  // records per read, more than one read buffer holds.
  const received = [];
  const server = await tlsServer((ws) => {
    ws._socket.pause();
    setTimeout(() => ws._socket.resume(), 300);
    ws.on('message', (data, isBinary) => {
      received.push({ isBinary, sha: digest(data), size: data.length });
      ws.send(data, { binary: isBinary });
    });
  });
  const sock = t.socket(server.url, { tls: { ca: certs.ca.cert }, heartbeat: false });
  await next(sock, 'open');
  const messages = [];
  for (let i = 0; i < 96; i++) {
    messages.push(crypto.randomBytes(i % 3 === 0 ? 200003 : 1 + ((i * 7919) % 70000)));
    messages.push(`text ${i} ${'x'.repeat(i * 13)}`);
  }
  const echoes = [];
  sock.on('message', (data) => echoes.push(data));
  const receipts = await withDeadline(Promise.all(messages.map((m) => sock.send(m))), 20000, 'every receipt');
  expect(receipts.every((r) => r.status === 'written')).toBe(true);
  await waitFor(() => echoes.length >= messages.length, 20000, `${messages.length} echoes (got ${echoes.length})`);
  const expected = messages.map((m) => ({ isBinary: typeof m !== 'string', sha: digest(m), size: Buffer.byteLength(m) }));
  expect(received).toEqual(expected);
  expect(echoes.map((m) => ({ isBinary: typeof m !== 'string', sha: digest(m), size: Buffer.byteLength(m) }))).toEqual(expected);
});

describe.each([
  ['ends its TLS session (close_notify) without a close frame', (ws) => ws._socket.end()],
  ['drops the connection without ending TLS', (ws) => ws._socket.destroy()],
])('a server that %s', (label, end) => {
  maybe('is a 1006 disconnect, and the next attempt opens', async () => {
    const server = await tlsServer((ws, n) => {
      if (n === 1) setTimeout(() => end(ws), 50);
    });
    const sock = t.socket(server.url, { tls: { ca: certs.ca.cert }, reconnect: { initialDelay: 10, maxDelay: 20 } });
    await next(sock, 'open');
    const disconnect = await next(sock, 'disconnect');
    expect(disconnect.code).toBe(1006);
    expect(disconnect.wasClean).toBe(false);
    const reopened = await next(sock, 'open');
    expect(reopened.reconnected).toBe(true);
    const echoed = new Promise((resolve) => server.connections[1].once('message', (data) => resolve(data.toString())));
    await sock.send('after the reconnect');
    expect(await echoed).toBe('after the reconnect');
  });
});

maybe('a message decrypted just before a broken record is delivered, then the connection ends (1006)', async () => {
  // A TLS server by hand over a stream of ours, so that the record carrying a text frame and a
  // record that fails to decrypt reach the client in one TCP write: the client must hand the
  // message over before it reports the failure.
  const net = require('net');
  const tls = require('tls');
  const { Duplex } = require('stream');
  const connections = [];
  const server = net.createServer((raw) => {
    connections.push(raw);
    let held = null; // while an array: ciphertext kept back instead of written
    const wire = new Duplex({
      write(chunk, encoding, done) {
        if (held) held.push(chunk);
        else raw.write(chunk);
        done();
      },
      read() {},
    });
    raw.on('data', (data) => wire.push(data));
    raw.on('error', () => {});
    const secure = new tls.TLSSocket(wire, { isServer: true, cert: certs.valid.cert, key: certs.valid.key });
    secure.on('error', () => {});
    let request = '';
    secure.on('data', (data) => {
      if (request === null) return; // upgraded: nothing more to read
      request += data.toString('latin1');
      if (!request.includes('\r\n\r\n')) return;
      const key = /sec-websocket-key: *(\S+)/i.exec(request)[1];
      request = null;
      const accept = crypto.createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      secure.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      setTimeout(() => {
        held = [];
        secure.write(Buffer.concat([Buffer.from([0x81, 5]), Buffer.from('hello')]));
        setTimeout(() => {
          const broken = Buffer.concat([Buffer.from([0x17, 0x03, 0x03, 0x00, 0x20]), Buffer.alloc(32, 0x41)]);
          raw.write(Buffer.concat([...held, broken]));
          held = null;
        }, 50);
      }, 50);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.add({
    close: async () => {
      for (const c of connections) c.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  });
  const sock = t.socket(`wss://localhost:${server.address().port}/`, {
    tls: { ca: certs.ca.cert },
    reconnect: false,
  });
  const events = [];
  sock.on('message', (data) => events.push(['message', data]));
  sock.on('disconnect', ({ code }) => events.push(['disconnect', code]));
  await next(sock, 'open');
  await next(sock, 'close');
  expect(events).toEqual([['message', 'hello'], ['disconnect', 1006]]);
});
