'use strict';

// Large messages against real `ws` servers. From 16 KiB on, an outgoing payload is not copied
// into the frame: the io thread masks the outbox's own bytes in place and writes them as a buffer
// of their own between the frame headers (plain TCP); over TLS it is copied into the frame as
// before. Either way the server must receive every byte as sent, in order — including around the
// size where one path hands over to the other, and when a message goes out again on a new
// connection with a fresh mask (guarantee 'acked').

const crypto = require('crypto');
const http = require('http');
const { WebSocketServer } = require('ws');
const { startWsServer, startTlsWsServer } = require('../helpers/servers');
const { makeCerts, opensslAvailable } = require('../helpers/certs');
const { waitFor, withDeadline } = require('../helpers/deadline');
const { makeTracker, next } = require('./support');

const t = makeTracker();
afterEach(() => t.cleanup());

const SHARED_MIN = 16 * 1024;
// Both sides of the hand-over, a 64 KiB frame (16-bit length) and one past it (64-bit length).
const SIZES = [1, SHARED_MIN - 1, SHARED_MIN, SHARED_MIN + 3, 65535, 65536, 200003];

const sha = (buf) => crypto.createHash('sha256').update(buf).digest('hex');

/** Random payloads of SIZES, several rounds, interleaved with small texts. */
function makeMessages(rounds) {
  const out = [];
  for (let r = 0; r < rounds; r++) {
    for (const size of SIZES) {
      out.push(crypto.randomBytes(size));
      out.push(`small ${r} ${size}`);
    }
  }
  return out;
}

/** Sends every message in one tick, awaits the receipts, and checks what the server got. */
async function sendAndCompare(server, sock, messages) {
  const receipts = await withDeadline(Promise.all(messages.map((m) => sock.send(m))), 20000, 'every receipt');
  expect(receipts.every((r) => r.status === 'written')).toBe(true);
  await waitFor(() => server.connections[0].messages.length >= messages.length, 20000, 'every message at the server');
  const got = server.connections[0].messages;
  expect(got.length).toBe(messages.length);
  got.forEach((m, i) => {
    const sent = messages[i];
    if (typeof sent === 'string') {
      expect(m.isBinary).toBe(false);
      expect(m.data.toString()).toBe(sent);
    } else {
      expect(m.isBinary).toBe(true);
      expect({ i, size: m.data.length, sha: sha(m.data) }).toEqual({ i, size: sent.length, sha: sha(sent) });
    }
  });
}

test('binary messages around and above 16 KiB reach a ws server intact and in order, and come back so', async () => {
  // The echoes test the inbound side: large payloads are parsed into recycled memory and copied
  // into Buffers of their own, so no message may show another's bytes.
  const server = t.add(await startWsServer({ echo: true }));
  const sock = t.socket(server.url, { heartbeat: false });
  const echoed = [];
  sock.on('message', (data) => echoed.push(data));
  await next(sock, 'open');
  const messages = makeMessages(3);
  await sendAndCompare(server, sock, messages);
  await waitFor(() => echoed.length >= messages.length, 20000, 'every echo');
  expect(echoed.length).toBe(messages.length);
  echoed.forEach((data, i) => {
    const sent = messages[i];
    if (typeof sent === 'string') expect(data).toBe(sent);
    else expect({ i, binary: Buffer.isBuffer(data), sha: sha(data) }).toEqual({ i, binary: true, sha: sha(sent) });
  });
  // The caller's Buffers are untouched: masking happens on the library's own copy.
  const mine = Buffer.alloc(SHARED_MIN * 2, 0x5a);
  await sock.send(mine);
  expect(mine.every((b) => b === 0x5a)).toBe(true);
});

test('with permessage-deflate the same messages arrive intact (compressed from the plain bytes)', async () => {
  const server = t.add(await startWsServer({ echo: false, perMessageDeflate: true }));
  const sock = t.socket(server.url, { perMessageDeflate: true, heartbeat: false });
  await next(sock, 'open');
  await sendAndCompare(server, sock, makeMessages(2));
});

describe('over TLS', () => {
  let certs = null;
  beforeAll(async () => {
    if (await opensslAvailable()) certs = await makeCerts();
  }, 30000);
  afterAll(() => certs && certs.cleanup());

  test('the same messages reach a wss server intact (copied into the frame there)', async () => {
    if (!certs) return console.log('SKIP: needs the openssl CLI');
    const server = t.add(await startTlsWsServer({ cert: certs.valid.cert, key: certs.valid.key, echo: false }));
    const sock = t.socket(server.url, { tls: { ca: certs.ca.cert }, heartbeat: false });
    await next(sock, 'open');
    await sendAndCompare(server, sock, makeMessages(2));
  });
});

/**
 * A server whose connections 1 and 2 receive `n` messages each and are dropped without acking;
 * connection 3 acks every message by the key `keyOf(data, isBinary)` finds in it (null: garbled,
 * never acked, so the sender's receipts time out and the test says why).
 */
async function dropTwiceThenAck(n, keyOf) {
  const httpServer = http.createServer();
  const wss = new WebSocketServer({ server: httpServer });
  const state = { connections: 0, received: [] }; // received: { connection, data, isBinary }
  wss.on('connection', (ws) => {
    const connection = ++state.connections;
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => {
      state.received.push({ connection, data, isBinary });
      const key = keyOf(data, isBinary);
      if (key === null) return;
      if (connection >= 3) ws.send(JSON.stringify({ type: 'ack', key }));
      else if (state.received.filter((m) => m.connection === connection).length === n) setTimeout(() => ws.terminate(), 20);
    });
  });
  await new Promise((resolve) => httpServer.listen({ host: '127.0.0.1', port: 0 }, resolve));
  t.add({
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      await new Promise((resolve) => wss.close(resolve));
      httpServer.closeAllConnections();
      await new Promise((resolve) => httpServer.close(resolve));
    },
  });
  state.url = `ws://127.0.0.1:${httpServer.address().port}/`;
  return state;
}

/** Sends `messages` (guarantee 'acked'), awaits every ack, and returns the receipts. */
async function sendUntilAcked(server, messages, keys, outbox) {
  const sock = t.socket(server.url, {
    outbox: { guarantee: 'acked', ...outbox },
    reconnect: { initialDelay: 20, maxDelay: 100 },
    heartbeat: false,
  });
  await next(sock, 'open');
  const sends = messages.map((m, i) => sock.send(m, keys ? { key: keys[i] } : undefined));
  const receipts = await withDeadline(Promise.all(sends), 20000, 'every receipt');
  expect(receipts.every((r) => r.status === 'acked')).toBe(true);
  expect(server.connections).toBe(3);
  return receipts;
}

const N_RESENT = 12;

test("large texts re-sent on new connections (guarantee 'acked') arrive exactly as first sent", async () => {
  // Every resend masks the outbox's bytes afresh for the new connection.
  const server = await dropTwiceThenAck(N_RESENT, (data) => {
    try {
      return JSON.parse(data.toString('utf8')).key;
    } catch {
      return null;
    }
  });
  const texts = [];
  for (let i = 0; i < N_RESENT; i++) {
    // Sizes on both sides of the hand-over; random text so a wrong mask cannot go unnoticed.
    const blob = crypto.randomBytes(SHARED_MIN / 2 + i * 2500).toString('base64');
    texts.push(JSON.stringify({ n: i, blob }));
  }
  const receipts = await sendUntilAcked(server, texts, null, { keyField: 'key' });
  for (let c = 1; c <= 3; c++) {
    const texts_c = server.received.filter((m) => m.connection === c).map((m) => JSON.parse(m.data.toString('utf8')));
    // (a garbled resend would have failed JSON.parse here, or the receipts above)
    expect(texts_c.map((m) => m.n)).toEqual([...Array(N_RESENT).keys()]);
    texts_c.forEach((m, i) => {
      expect(m.blob).toBe(JSON.parse(texts[i]).blob);
      expect(m.key).toBe(receipts[i].key);
    });
  }
});

test("large binaries re-sent on new connections (guarantee 'acked') arrive exactly as first sent", async () => {
  // From 16 KiB on, a binary is masked as it is copied out of its Buffer, with a key of the
  // JavaScript thread's; the first connection sends those bytes as they are, every later one
  // masks them afresh. Each payload starts with its key, which the server acks.
  const server = await dropTwiceThenAck(N_RESENT, (data, isBinary) => {
    const match = isBinary && /^(bin-\d+):/.exec(data.subarray(0, 16).toString('latin1'));
    return match ? match[1] : null;
  });
  const keys = [];
  const blobs = [];
  for (let i = 0; i < N_RESENT; i++) {
    keys.push(`bin-${i}`);
    blobs.push(Buffer.concat([Buffer.from(`bin-${i}:`), crypto.randomBytes(SHARED_MIN / 2 + i * 5000)]));
  }
  await sendUntilAcked(server, blobs, keys, {});
  for (let c = 1; c <= 3; c++) {
    const got = server.received.filter((m) => m.connection === c);
    expect(got.map((m, i) => ({ i, binary: m.isBinary, sha: sha(m.data) }))).toEqual(
      blobs.map((b, i) => ({ i, binary: true, sha: sha(b) }))
    );
  }
});
