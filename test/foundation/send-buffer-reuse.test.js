'use strict';

// Regression (review r10): send() batches a tick's messages and hands them to the io thread at
// the end of the tick. It used to keep a reference to a Buffer / Uint8Array argument, so a
// caller that reused one buffer for several send() calls in one tick had every message go out
// with the buffer's last contents. Like ws, send() must take the bytes as they are at the call.

const { startWsServer } = require('../helpers/servers');
const { waitFor, withDeadline } = require('../helpers/deadline');
const { makeTracker, next } = require('./support');

const t = makeTracker();
afterEach(() => t.cleanup());

const N = 5;

/** The 32-bit big-endian number at the start of each message the server received. */
const numbersAt = (server) => server.connections.flatMap((c) => c.messages.map((m) => m.data.readUInt32BE(0)));

/**
 * Opens a socket to a non-echo server, runs `sendAll(sock)` (which must send N messages in one
 * tick and return their promises) and returns the numbers the server received.
 */
async function sendAndCollect(sendAll) {
  const server = t.add(await startWsServer({ echo: false }));
  const sock = t.socket(server.url, { heartbeat: false });
  await next(sock, 'open');
  const receipts = await withDeadline(Promise.all(sendAll(sock)), 5000, 'every send() to resolve');
  expect(receipts.map((r) => r.status)).toEqual(Array(N).fill('written'));
  await waitFor(() => numbersAt(server).length >= N, 5000, `${N} messages at the server`);
  await withDeadline(sock.close(), 5000, 'close()');
  return { numbers: numbersAt(server), binary: server.connections[0].messages.map((m) => m.isBinary) };
}

test('one Buffer rewritten between five send() calls in one tick: the server receives 1,2,3,4,5', async () => {
  const { numbers, binary } = await sendAndCollect((sock) => {
    const buf = Buffer.alloc(4);
    const sent = [];
    for (let i = 1; i <= N; i++) {
      buf.writeUInt32BE(i);
      sent.push(sock.send(buf));
    }
    return sent;
  });
  expect(numbers).toEqual([1, 2, 3, 4, 5]);
  expect(binary).toEqual(Array(N).fill(true));
});

test('the same holds for a reused Uint8Array, DataView, ArrayBuffer and a Buffer slice of a pool', async () => {
  const kinds = [
    ['Uint8Array', () => { const u = new Uint8Array(8); return { view: u, set: (i) => new DataView(u.buffer).setUint32(0, i) }; }],
    ['DataView', () => { const d = new DataView(new ArrayBuffer(8)); return { view: d, set: (i) => d.setUint32(0, i) }; }],
    ['ArrayBuffer', () => { const a = new ArrayBuffer(4); return { view: a, set: (i) => new DataView(a).setUint32(0, i) }; }],
    // A view into the middle of a larger buffer: byteOffset must be honoured, not just the bytes.
    ['Buffer slice', () => { const whole = Buffer.alloc(64, 0xee); const s = whole.subarray(16, 24); return { view: s, set: (i) => s.writeUInt32BE(i) }; }],
  ];
  for (const [kind, make] of kinds) {
    const { numbers } = await sendAndCollect((sock) => {
      const { view, set } = make();
      const sent = [];
      for (let i = 1; i <= N; i++) {
        set(i);
        sent.push(sock.send(view));
      }
      return sent;
    });
    expect({ kind, numbers }).toEqual({ kind, numbers: [1, 2, 3, 4, 5] });
  }
});
