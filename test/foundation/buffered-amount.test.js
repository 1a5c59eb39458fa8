'use strict';

// Regression (issue 11): bufferedAmount counted only the connection's write queue — not this
// tick's sends, not the outbox — so the loop every `ws` user writes,
//   while (sock.bufferedAmount < 1 MiB) sock.send(x);
// never saw it rise, pushed everything into the outbox in one tick and got ERR_OUTBOX_FULL
// (default bound: 10,000 messages). bufferedAmount must mean what it means in browsers and
// `ws`: every payload byte accepted by send() and not yet handed to the kernel, current
// synchronously. These tests pin that meaning at every point where it can be known exactly.

const { startWsServer } = require('../helpers/servers');
const { waitFor, withDeadline } = require('../helpers/deadline');
const { makeTracker, next } = require('./support');

const t = makeTracker();
afterEach(() => t.cleanup());

const HIGH_WATER = 1024 * 1024;

/** How many messages the (non-echo) server has received in all. */
const receivedBy = (server) => server.connections.reduce((n, c) => n + c.messages.length, 0);

// 1 KiB: bufferedAmount must count the outbox and this tick's sends. 64 B: 1 MiB of them is
// 16,384 messages in one tick, more than maxMessages (10,000); messages that go straight out on
// an open connection must not count against it, or the loop still gets ERR_OUTBOX_FULL.
test.each([
  ['1 KiB binary', Buffer.alloc(1024, 0x61)],
  ['64 B text', 'x'.repeat(64)],
])('a ws-style loop sending 50,000 × %s on defaults never gets ERR_OUTBOX_FULL, and bufferedAmount is exact throughout', async (_, payload) => {
  const N = 50000;
  const server = t.add(await startWsServer({ echo: false }));
  const sock = t.socket(server.url); // library defaults: in-memory outbox of 10,000 messages
  await next(sock, 'open');
  const size = Buffer.byteLength(payload);

  let sent = 0;
  let highest = 0;
  let waits = 0;
  const receipts = [];
  const inexact = [];
  await withDeadline(
    new Promise((resolve) => {
      const pump = () => {
        while (sent < N) {
          const before = sock.bufferedAmount;
          if (before >= HIGH_WATER) {
            waits++;
            setImmediate(pump);
            return;
          }
          receipts.push(sock.send(payload));
          sent++;
          // Synchronous: the message is counted the moment send() accepts it.
          if (sock.bufferedAmount !== before + size) inexact.push([sent, before, sock.bufferedAmount]);
          highest = Math.max(highest, sock.bufferedAmount);
        }
        resolve();
      };
      pump();
    }),
    60000,
    'the send loop'
  );
  // Any ERR_OUTBOX_FULL rejects here.
  const settled = await withDeadline(Promise.all(receipts), 60000, 'every send() to resolve');
  expect(inexact.slice(0, 3)).toEqual([]);
  expect(settled.every((r) => r.status === 'written')).toBe(true);
  // The loop really was throttled by bufferedAmount, and it stayed under the limit + 1 message.
  expect(waits).toBeGreaterThan(0);
  expect(highest).toBeLessThan(HIGH_WATER + size);
  // Everything resolved 'written' = handed to the kernel: nothing is buffered any more.
  expect(sock.bufferedAmount).toBe(0);
  await waitFor(() => receivedBy(server) === N, 30000, `${N} messages at the server`);
});

test('bufferedAmount counts UTF-8 bytes of text, bytes of binary, large binaries and the unsent outbox; 0 once written or closed', async () => {
  // Not connected yet (autoConnect: false): everything sits in the outbox.
  const server = t.add(await startWsServer({ echo: false }));
  const sock = t.socket(server.url, { autoConnect: false });
  expect(sock.bufferedAmount).toBe(0);
  const receipts = [sock.send('é'.repeat(10))]; // 20 bytes of UTF-8, 10 characters
  expect(sock.bufferedAmount).toBe(20);
  receipts.push(sock.send(new Uint16Array(50))); // 100 bytes
  expect(sock.bufferedAmount).toBe(120);
  const big = Buffer.alloc(64 * 1024, 1); // large binary: handed to the binding at once
  receipts.push(sock.send(big));
  expect(sock.bufferedAmount).toBe(120 + 65536);
  // Still in the outbox after the tick's batch crossed to the io thread.
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(sock.bufferedAmount).toBe(120 + 65536);

  sock.connect();
  await withDeadline(Promise.all(receipts), 10000, 'the queued sends to resolve');
  expect(sock.bufferedAmount).toBe(0);
  await waitFor(() => receivedBy(server) === 3, 5000, '3 messages at the server');

  // Unsent at close: the sends reject with ERR_CLOSED and bufferedAmount drops to 0.
  const late = sock.send('x'.repeat(100));
  late.catch(() => {});
  expect(sock.bufferedAmount).toBe(100);
  await withDeadline(sock.close(), 5000, 'close()');
  expect(sock.bufferedAmount).toBe(0);
});

test('a large binary sent without a JS-side snapshot still goes out as it was at the send() call', async () => {
  // The direct path for binaries ≥ 16 KiB hands the bytes to the binding during send(), which
  // copies them: rewriting the buffer right after send() must not change what is sent.
  const server = t.add(await startWsServer({ echo: false }));
  const sock = t.socket(server.url);
  await next(sock, 'open');
  const buf = Buffer.alloc(64 * 1024);
  const sent = [];
  for (let i = 1; i <= 3; i++) {
    buf.fill(i);
    sent.push(sock.send(buf));
    sent.push(sock.send(`after ${i}`)); // order across the direct path and the batch is kept
  }
  buf.fill(0xff);
  await withDeadline(Promise.all(sent), 10000, 'every send() to resolve');
  await waitFor(() => receivedBy(server) === 6, 5000, '6 messages at the server');
  const got = server.connections[0].messages.map((m) => (m.isBinary ? `bin ${m.data[0]} ${m.data[m.data.length - 1]} ${m.data.length}` : String(m.data)));
  expect(got).toEqual(['bin 1 1 65536', 'after 1', 'bin 2 2 65536', 'after 2', 'bin 3 3 65536', 'after 3']);
});

describe('receipts that do not mean "written" (issue 11)', () => {
  // With guarantee 'acked' a send() resolves at the server's ack, with a file outbox at the
  // fsync: neither is the moment the bytes reach the kernel. bufferedAmount used to drop at the
  // receipt — never, for an ack that does not come; before the write, for 'persisted'. The io
  // thread now reports the first write of each message separately.

  test("'acked': the bytes leave bufferedAmount once written, though no ack ever comes", async () => {
    const server = t.add(await startWsServer({ echo: false })); // never acks
    const sock = t.socket(server.url, { heartbeat: false, outbox: { guarantee: 'acked', keyField: 'key' } });
    await next(sock, 'open');
    const p = sock.send('{"n":1}');
    p.catch(() => {});
    expect(sock.bufferedAmount).toBeGreaterThan(0);
    await waitFor(() => receivedBy(server) === 1, 5000, 'the message at the server');
    await waitFor(() => sock.bufferedAmount === 0, 5000, 'bufferedAmount to drop once written');
    expect(sock.outboxSize).toBe(1); // still waiting for its ack
  });

  test("file outbox: a 'persisted' message stays in bufferedAmount until it is written", async () => {
    // The server stops reading after the first bytes, so a 24 MiB message cannot be written in
    // full, while its record is on disk ('persisted') at once.
    let stalled = null;
    const server = t.add(await startWsServer({
      echo: false,
      maxPayload: 64 << 20,
      onConnection: (ws, req) => req.socket.once('data', () => { ws.pause(); stalled = ws; }),
    }));
    const sock = t.socket(server.url, { heartbeat: false, outbox: { path: t.tempDir('buffered'), maxBytes: 64 << 20 } });
    await next(sock, 'open');
    const size = 24 << 20;
    const receipt = await withDeadline(sock.send(Buffer.alloc(size, 7)), 10000, "the 'persisted' receipt");
    expect(receipt.status).toBe('persisted');
    await waitFor(() => stalled !== null, 10000, 'the first bytes at the server');
    expect(sock.bufferedAmount).toBe(size);
    stalled.resume();
    await waitFor(() => sock.bufferedAmount === 0, 10000, 'bufferedAmount to drop once written');
    await waitFor(() => receivedBy(server) === 1, 10000, 'the message at the server');
  });

  test("file outbox: a 'persisted' message that onFull 'drop-oldest' evicts leaves bufferedAmount once later ones are written", async () => {
    // Refused until setReject(null): every message waits, persisted, in the outbox.
    const server = t.add(await startWsServer({ echo: false, reject: { status: 503 } }));
    const sock = t.socket(server.url, {
      heartbeat: false,
      reconnect: { initialDelay: 50, maxDelay: 100 },
      outbox: { path: t.tempDir('evicted'), maxMessages: 3, onFull: 'drop-oldest' },
    });
    const payload = 'x'.repeat(100);
    const send = () => withDeadline(sock.send(payload), 10000, "a 'persisted' receipt");
    for (let i = 0; i < 3; i++) expect((await send()).status).toBe('persisted');
    // Each one more evicts the oldest: two messages that were never written and never will be.
    await send();
    await send();
    expect(sock.outboxSize).toBe(3);
    server.setReject(null);
    await waitFor(() => receivedBy(server) === 3, 10000, 'the three kept messages at the server');
    // Before: the evicted two stayed counted for good (200 bytes that no write would ever take).
    await waitFor(() => sock.bufferedAmount === 0, 5000, 'bufferedAmount to drop to 0');
  });
});
