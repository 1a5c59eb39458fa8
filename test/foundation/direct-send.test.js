'use strict';

// A lone send() in a tick, on an open plain-TCP connection whose io thread has nothing to write,
// is written to the socket by the JavaScript thread itself (native/transport/direct_lane.hpp):
// one thread hand-off less per round trip. These tests hold it to what the io thread's way
// guarantees — the order of send() calls, receipts, bufferedAmount, 'drain' — while pings, bursts
// and a full socket force the two ways to take turns, against a real `ws` server.

const { startWsServer, startTlsWsServer } = require('../helpers/servers');
const { makeCerts, opensslAvailable } = require('../helpers/certs');
const { waitFor, withDeadline } = require('../helpers/deadline');
const { makeTracker, next } = require('./support');

const t = makeTracker();
afterEach(() => t.cleanup());

const tick = () => new Promise((resolve) => setImmediate(resolve));

/** A socket open to a `ws` server that records what it gets and sends nothing back. */
async function openToRecorder(serverOptions = {}) {
  const server = t.add(await startWsServer({ echo: false, ...serverOptions }));
  const sock = t.socket(server.url);
  await next(sock, 'open');
  return { sock, conn: server.connections[0] };
}

/** Counts the sends the binding wrote itself (its send() returns their seq instead of 0). */
function countDirect(sock) {
  const send = sock._nativeSend;
  const counter = { direct: 0, viaIoThread: 0, allowed: [] };
  // An own property of this socket, over the prototype's binding function.
  Object.defineProperty(sock, '_nativeSend', {
    value(...args) {
      counter.allowed.push(args[2] === true);  // whether lib/ let the binding write directly
      const seq = send.apply(this, args);
      if (seq > 0) counter.direct++;
      else counter.viaIoThread++;
      return seq;
    },
  });
  return counter;
}

/** Counts what the binding's writeNow() did with large sends: all written, part written, not taken. */
function countWriteNow(sock) {
  const writeNow = sock._nativeWriteNow;
  const counter = { whole: 0, part: 0, notTaken: 0 };
  Object.defineProperty(sock, '_nativeWriteNow', {
    value(...args) {
      const seq = writeNow.apply(this, args);
      if (seq > 0) counter.whole++;
      else if (seq === 0) counter.part++;
      else counter.notTaken++;
      return seq;
    },
  });
  return counter;
}

/** A 20 KiB payload that says which message it is in every byte: a stale or torn copy shows. */
const largeMark = (buf, i) => buf.fill(i % 251);  // returns buf
const expectLarge = (m, i, size) => {
  expect(m.isBinary).toBe(true);
  expect(m.data.length).toBe(size);
  expect(m.data[0]).toBe(i % 251);
  expect(m.data[size - 1]).toBe(i % 251);
  expect(m.data.equals(Buffer.alloc(size, i % 251))).toBe(true);
};

const keyOf = (prefixOf, receipt) => `${prefixOf}-${receipt.seq.toString(16).padStart(12, '0')}`;

test('lone sends go out directly, in send() order with bursts and heartbeat pings, with their receipts', async () => {
  const server = t.add(await startWsServer({ echo: false }));
  // No inbound traffic and a 20 ms interval: the io thread pings all the time, between our writes.
  const sock = t.socket(server.url, { heartbeat: { interval: 20, timeout: 5000 } });
  await next(sock, 'open');
  const conn = server.connections[0];
  const counter = countDirect(sock);

  const expected = [];
  const receipts = [];
  for (let i = 0; i < 3000; i++) {
    if (i % 25 === 0) {
      // A burst: one batch through the io thread, which a direct write must not overtake.
      for (let j = 0; j < 20; j++) {
        expected.push(`b${i}.${j}`);
        receipts.push(sock.send(`b${i}.${j}`));
      }
    } else {
      const data = i % 2 ? `s${i}` : Buffer.from(`s${i}`);
      expected.push(`s${i}`);
      receipts.push(sock.send(data));
    }
    // Now and then a pause long enough for the io thread's pings to come between.
    if (i % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    else await tick();
  }
  const settled = await withDeadline(Promise.all(receipts), 10000, 'every receipt');
  await waitFor(() => conn.messages.length >= expected.length, 10000, 'every message at the server');

  expect(conn.messages.map((m) => (m.isBinary ? m.data.toString() : m.data))).toEqual(expected);
  for (let i = 0; i < settled.length; i++) {
    expect(settled[i].status).toBe('written');
    if (i > 0) expect(settled[i].seq).toBe(settled[i - 1].seq + 1);
  }
  // Generated keys have one format whichever thread wrote the message.
  const prefix = settled[0].key.slice(0, settled[0].key.lastIndexOf('-'));
  for (const r of settled) expect(r.key).toBe(keyOf(prefix, r));
  expect(new Set(settled.map((r) => r.key)).size).toBe(settled.length);

  console.log(`direct ${counter.direct}, via the io thread ${counter.viaIoThread}, pings ${sock.stats().heartbeatsSent}`);
  expect(counter.direct).toBeGreaterThan(100);      // the direct way was taken...
  expect(counter.viaIoThread).toBeGreaterThan(20);  // ...and so was the other, in between
  expect(sock.stats().heartbeatsSent).toBeGreaterThan(5);
  expect(sock.bufferedAmount).toBe(0);
  expect(sock.stats().messagesOut).toBe(expected.length);
});

test('a direct send resolves written at once, keeps its explicit key, and still ends in drain', async () => {
  const server = t.add(await startWsServer({ echo: false }));
  const sock = t.socket(server.url);
  const counter = countDirect(sock);
  let drains = 0;
  sock.on('drain', () => drains++);
  // Before this side has seen 'open' nothing is written directly: no receipt comes before it.
  const early = sock.send('early');
  const opened = next(sock, 'open');
  await Promise.resolve();
  expect(counter.allowed).toEqual([false]);
  await opened;
  await withDeadline(early, 5000, 'early receipt');
  await waitFor(() => drains === 1, 5000, "the first 'drain'");

  const receipt = sock.send('hello', { key: 'order-7' });
  expect(sock.bufferedAmount).toBe(5);  // accepted, this tick's batch
  await Promise.resolve();  // the tick's batch goes out in a microtask
  expect(sock.bufferedAmount).toBe(0);  // the kernel has it
  await expect(withDeadline(receipt, 5000, 'receipt')).resolves.toEqual({ key: 'order-7', seq: expect.any(Number), status: 'written' });
  expect(counter.direct).toBe(1);
  await waitFor(() => drains === 2, 5000, "'drain' after the direct send");
  await waitFor(() => server.connections[0].messages.length === 2, 5000, 'the messages');
});

test('with the server not reading, direct writes meet a full socket: every message arrives whole and in order', async () => {
  const { sock, conn } = await openToRecorder({ onConnection: (ws) => ws._socket.pause() });
  const counter = countDirect(sock);

  // ~9 MB, one message per tick: the kernel's buffers fill part way through and the rest waits in
  // the outbox, the two ways taking turns as the socket fills and drains. (A direct write the
  // kernel takes in part, finished by the io thread, is pinned down deterministically by
  // SessionDirectWriteTest and DirectLaneTest in the C++ units.)
  const N = 600;
  const pad = 'x'.repeat(15000);
  const receipts = [];
  for (let i = 0; i < N; i++) {
    receipts.push(sock.send(`${i}:${pad}`));
    await tick();
  }
  expect(sock.bufferedAmount).toBeGreaterThan(0);  // the server is not reading
  conn.ws._socket.resume();
  const settled = await withDeadline(Promise.all(receipts), 20000, 'every receipt');
  await waitFor(() => conn.messages.length === N, 20000, 'every message at the server');
  conn.messages.forEach((m, i) => {
    expect(m.isBinary).toBe(false);
    expect(m.data.length).toBe(`${i}:`.length + pad.length);
    expect(m.data.startsWith(`${i}:x`)).toBe(true);
  });
  for (let i = 1; i < N; i++) expect(settled[i].seq).toBe(settled[i - 1].seq + 1);
  console.log(`full socket: direct ${counter.direct}, via the io thread ${counter.viaIoThread}`);
  expect(counter.direct).toBeGreaterThan(0);
  expect(counter.viaIoThread).toBeGreaterThan(0);
});

// A large send() (16 KiB or more) with nothing of its tick queued before it is written at the call
// (writeNow): the bufferedAmount loop ws users write sends on while the kernel takes the bytes,
// and the io thread stays out of it. Smaller sends of the same tick batch behind it as before.
test('large sends (binary and text) are written at the call, in order with batched small ones, from a reused buffer', async () => {
  const { sock, conn } = await openToRecorder();
  const now = countWriteNow(sock);
  const size = 20 * 1024;
  const buf = Buffer.alloc(size);
  const expected = [];
  const receipts = [];
  for (let i = 0; i < 400; i++) {
    if (i % 3 === 2) {
      // Large text takes the same way.
      const text = String.fromCharCode(97 + (i % 26)).repeat(size);
      expected.push(text);
      receipts.push(sock.send(text));
    } else {
      largeMark(buf, i);
      expected.push(i);
      receipts.push(sock.send(buf));
    }
    if (i % 4 === 0) {
      // Small ones after it in the same tick, and a large one after them: that one is queued.
      receipts.push(sock.send(`small${i}`));
      expected.push(`small${i}`);
      largeMark(buf, i + 1000);
      expected.push(i + 1000);
      receipts.push(sock.send(buf));
    }
    // The first large one went at the call; the small one and the second large one wait for the tick's end.
    if (i === 0) expect(sock.bufferedAmount).toBe('small0'.length + size);
    await tick();
  }
  const settled = await withDeadline(Promise.all(receipts), 10000, 'every receipt');
  await waitFor(() => conn.messages.length === expected.length, 10000, 'every message at the server');
  conn.messages.forEach((m, i) => {
    if (typeof expected[i] === 'string') expect(m.data).toBe(expected[i]);
    else expectLarge(m, expected[i], size);
  });
  for (let i = 1; i < settled.length; i++) expect(settled[i].seq).toBe(settled[i - 1].seq + 1);
  for (const r of settled) expect(r.status).toBe('written');
  console.log(`writeNow: whole ${now.whole}, part ${now.part}, not taken ${now.notTaken}`);
  // Taken at the call when the io thread was done with the batch before; only those first in
  // their tick were offered.
  expect(now.whole).toBeGreaterThan(0);
  expect(now.whole + now.part + now.notTaken).toBe(400);
  expect(sock.bufferedAmount).toBe(0);
});

test('with the server not reading, a bufferedAmount loop of 64 KiB sends meets a full socket: every message whole and in order', async () => {
  const { sock, conn } = await openToRecorder({ onConnection: (ws) => ws._socket.pause() });
  const now = countWriteNow(sock);
  let drains = 0;
  sock.on('drain', () => drains++);

  // ~13 MB: the kernel's buffers fill in the first few MB; from then on the loop waits on
  // bufferedAmount while the io thread finishes what the kernel took in part.
  const N = 200;
  const size = 64 * 1024;
  const buf = Buffer.alloc(size);
  const receipts = [];
  let resumed = false;
  for (let i = 0; i < N; ) {
    if (sock.bufferedAmount >= 1024 * 1024) {
      if (!resumed && now.part + now.notTaken > 0) {
        resumed = true;
        conn.ws._socket.resume();
      }
      await tick();
      continue;
    }
    largeMark(buf, i);
    receipts.push(sock.send(buf));
    i++;
  }
  if (!resumed) conn.ws._socket.resume();
  const settled = await withDeadline(Promise.all(receipts), 20000, 'every receipt');
  await waitFor(() => conn.messages.length === N, 20000, 'every message at the server');
  conn.messages.forEach((m, i) => expectLarge(m, i, size));
  for (let i = 1; i < N; i++) expect(settled[i].seq).toBe(settled[i - 1].seq + 1);
  console.log(`full socket, 64 KiB: writeNow whole ${now.whole}, part ${now.part}, not taken ${now.notTaken}`);
  expect(now.whole).toBeGreaterThan(0);
  expect(now.part + now.notTaken).toBeGreaterThan(0);  // the socket filled: the io thread took over
  await waitFor(() => drains > 0, 5000, "'drain'");
  expect(sock.bufferedAmount).toBe(0);
});

test("large sends written at the call end in one 'drain' for their tick, not one each", async () => {
  const { sock, conn } = await openToRecorder();
  const now = countWriteNow(sock);
  let drains = 0;
  sock.on('drain', () => drains++);
  const size = 20 * 1024;
  const receipts = [];
  for (let i = 0; i < 8; i++) receipts.push(sock.send(largeMark(Buffer.alloc(size), i)));
  // An idle socket on the loopback usually takes all 160 KiB at once; if the kernel takes part of
  // one, the rest goes through the io thread, which reports the one 'drain' instead.
  expect(now.whole).toBeGreaterThan(0);
  await withDeadline(Promise.all(receipts), 5000, 'receipts');
  await waitFor(() => drains > 0, 5000, "'drain'");
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(drains).toBe(1);
  await waitFor(() => conn.messages.length === 8, 5000, 'the messages');
  conn.messages.forEach((m, i) => expectLarge(m, i, size));
});

test('large typed arrays other than Uint8Array, and DataViews, go out as the bytes they cover', async () => {
  const { sock, conn } = await openToRecorder();
  const backing = new ArrayBuffer(64 * 1024);
  new Uint8Array(backing).forEach((_, i, a) => { a[i] = i % 253; });
  const views = [
    new Float64Array(backing, 8, 4096),   // 32 KiB from byte 8
    new Uint16Array(backing, 2, 10000),   // 20,000 bytes from byte 2
    new DataView(backing, 100, 30000),
  ];
  if (typeof Float16Array === 'function') views.push(new Float16Array(backing, 6, 12000));
  // Each first in its tick (written at the call when the socket is free), then all in one tick
  // (the first at the call, the rest staged).
  for (const v of views) {
    await withDeadline(sock.send(v), 5000, 'receipt');
  }
  await withDeadline(Promise.all(views.map((v) => sock.send(v))), 5000, 'receipts');
  await waitFor(() => conn.messages.length === 2 * views.length, 5000, 'the messages');
  const expected = views.map((v) => Buffer.from(backing, v.byteOffset, v.byteLength));
  conn.messages.forEach((m, i) => {
    expect(m.isBinary).toBe(true);
    expect(m.data.equals(expected[i % views.length])).toBe(true);
  });
});

test('no direct writes over a file outbox: every send is stored by the io thread first', async () => {
  const server = t.add(await startWsServer({ echo: false }));
  const sock = t.socket(server.url, { outbox: { path: t.tempDir('direct') } });
  await next(sock, 'open');
  const counter = countDirect(sock);
  for (let i = 0; i < 20; i++) {
    await withDeadline(sock.send(`p${i}`), 5000, 'receipt');
  }
  expect(counter.direct).toBe(0);
});

// Over TLS the bytes on the socket are records only the io thread's SSL stream can make; with
// permessage-deflate the compressor's context is the io thread's. Both always take its way.

/** Twenty lone sends, one at a time, each echoed: none of them written directly. */
async function expectEchoesOnlyThroughTheIoThread(sock) {
  const counter = countDirect(sock);
  for (let i = 0; i < 20; i++) {
    const echoed = next(sock, 'message');
    await withDeadline(sock.send(`e${i}`), 5000, 'receipt');
    expect(await echoed).toBe(`e${i}`);
  }
  expect(counter.direct).toBe(0);
  expect(counter.viaIoThread).toBe(20);
}
test('no direct writes over permessage-deflate', async () => {
  const server = t.add(await startWsServer({ perMessageDeflate: true }));
  const sock = t.socket(server.url, { perMessageDeflate: true });
  await next(sock, 'open');
  await expectEchoesOnlyThroughTheIoThread(sock);
});

test('no direct writes over wss://', async () => {
  if (!(await opensslAvailable())) {
    console.log('SKIP: needs the openssl CLI (apt-get install openssl)');
    return;
  }
  const certs = await makeCerts();
  try {
    const server = t.add(await startTlsWsServer({ cert: certs.valid.cert, key: certs.valid.key }));
    const sock = t.socket(server.url, { tls: { ca: certs.ca.cert } });
    await next(sock, 'open');
    await expectEchoesOnlyThroughTheIoThread(sock);
  } finally {
    certs.cleanup();
  }
}, 30000);

// reconnect() is a line between connections: what is sent after it (in the same tick, before the
// io thread has even seen the call) goes to the next connection, never the one being dropped.
test('sends in the tick of reconnect() go to the next connection', async () => {
  const server = t.add(await startWsServer({ echo: false }));
  const sock = t.socket(server.url);
  await next(sock, 'open');
  const counter = countDirect(sock);
  await withDeadline(sock.send('before'), 5000, 'receipt');
  expect(counter.direct).toBe(1);
  sock.reconnect();
  const receipt = sock.send('after');
  await next(sock, 'open');
  await withDeadline(receipt, 5000, 'receipt');
  // Not left to a race with the io thread: lib/ does not even offer the direct way after reconnect().
  expect(counter.allowed).toEqual([true, false]);
  await withDeadline(sock.send('again'), 5000, 'receipt');
  expect(counter.allowed).toEqual([true, false, true]);  // the next 'open' allows it again
  expect(counter.direct).toBe(2);
  await waitFor(() => server.connections.length === 2 && server.connections[1].messages.length >= 1, 5000, "the second connection to get it");
  expect(server.connections[0].messages.map((m) => m.data)).toEqual(['before']);
  await waitFor(() => server.connections[1].messages.length === 2, 5000, "'again'");
  expect(server.connections[1].messages.map((m) => m.data)).toEqual(['after', 'again']);
});
