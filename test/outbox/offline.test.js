'use strict';

// Sending while disconnected: messages queue in the outbox and are flushed in order
// once the connection is open; outboxSize counts them the whole time; 'drain' fires once when
// the outbox becomes empty. For the in-memory outbox and the file outbox, before the first
// connection (autoConnect: false, then connect()) and while the server is down.

const { startWsServer } = require('../helpers/servers');
const { startFaultProxy } = require('../helpers/fault-proxy');
const { waitFor, withDeadline } = require('../helpers/deadline');
const { makeTracker, next } = require('./support');

const t = makeTracker();
afterEach(() => t.cleanup());

const N = 50;
const tick = () => new Promise((resolve) => setImmediate(resolve));

/** Texts the server received, across connections, in order. */
const receivedTexts = (server) => server.connections.flatMap((c) => c.messages.map((m) => m.data));

/**
 * Sends m<from>..m<to-1>, recording settlement. @returns {Promise<object>[]}
 */
function sendRange(sock, from, to, settled) {
  const promises = [];
  for (let i = from; i < to; i++) {
    promises.push(sock.send(`m${i}`).then((r) => {
      settled.push(i);
      return r;
    }));
  }
  return promises;
}

/**
 * outboxSize sampled right after the batch left JavaScript (a microtask), after the io thread
 * had a chance to take it (setImmediate) and a little later: never lower than what is queued.
 */
async function sampleOutboxSize(sock) {
  const samples = [sock.outboxSize];
  await Promise.resolve();
  samples.push(sock.outboxSize);
  await tick();
  samples.push(sock.outboxSize);
  await new Promise((resolve) => setTimeout(resolve, 30));
  samples.push(sock.outboxSize);
  return samples;
}

describe.each([
  ['in memory', false],
  ['file outbox', true],
])('offline sends (%s)', (label, durable) => {
  const outboxOption = () => (durable ? { outbox: { path: `${t.tempDir('offline')}/outbox` } } : {});

  test('before the first connection (autoConnect: false): queued, counted, then flushed in order by connect()', async () => {
    const server = t.add(await startWsServer({ echo: false }));
    const sock = t.socket(server.url, { autoConnect: false, heartbeat: false, ...outboxOption() });
    let drains = 0;
    sock.on('drain', () => { drains += 1; });
    const settled = [];
    const receipts = sendRange(sock, 0, N, settled);
    expect(await sampleOutboxSize(sock)).toEqual([N, N, N, N]);
    // The file outbox resolves once the record is on disk (its fdatasync runs on the disk
    // worker: awaited, not assumed done by now), without any connection; the in-memory one only
    // once written.
    if (durable) await waitFor(() => settled.length === N, 5000, 'the persisted receipts');
    expect(settled).toHaveLength(durable ? N : 0);
    expect(server.connections).toHaveLength(0);
    expect(drains).toBe(0);

    sock.connect();
    const results = await withDeadline(Promise.all(receipts), 5000, 'receipts');
    await waitFor(() => drains === 1, 5000, "'drain'");
    await waitFor(() => receivedTexts(server).length === N, 5000, 'every message at the server');
    expect(receivedTexts(server)).toEqual(Array.from({ length: N }, (_, i) => `m${i}`));
    expect(results.map((r) => r.status)).toEqual(Array(N).fill(durable ? 'persisted' : 'written'));
    expect(results.map((r) => r.seq)).toEqual(Array.from({ length: N }, (_, i) => results[0].seq + i));
    expect(settled).toEqual(Array.from({ length: N }, (_, i) => i));
    expect(sock.outboxSize).toBe(0);
    // Exactly one 'drain' per transition to empty: a later send that goes straight out gives one more.
    await sock.send('after');
    await waitFor(() => drains === 2, 5000, "the second 'drain'");
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(drains).toBe(2);
  });

  test('while the server is down: queued behind earlier messages, flushed in order after the reconnect', async () => {
    const server = t.add(await startWsServer({ echo: false }));
    const proxy = t.add(await startFaultProxy({ target: { port: server.port } }));
    const sock = t.socket(proxy.url(), {
      heartbeat: false, reconnect: { initialDelay: 50, maxDelay: 100 }, ...outboxOption(),
    });
    let drains = 0;
    sock.on('drain', () => { drains += 1; });
    await next(sock, 'open');
    const settled = [];
    await withDeadline(Promise.all(sendRange(sock, 0, 10, settled)), 5000, 'the online receipts');
    await waitFor(() => drains === 1, 5000, "the first 'drain'");
    // 'written' means "left this socket": let the proxy hand them over before cutting it.
    await waitFor(() => receivedTexts(server).length === 10, 5000, 'the online messages at the server');

    // Server down: the connection dies and new ones are refused.
    await proxy.setMode('refuse');
    proxy.resetAll();
    await next(sock, 'reconnecting');
    const offline = sendRange(sock, 10, 10 + N, settled);
    expect(await sampleOutboxSize(sock)).toEqual([N, N, N, N]);
    await new Promise((resolve) => setTimeout(resolve, 200)); // a few refused attempts
    expect(sock.outboxSize).toBe(N);
    expect(sock.state).not.toBe('open');
    expect(drains).toBe(1);
    if (durable) await waitFor(() => settled.length === 10 + N, 5000, 'the persisted receipts');
    expect(settled).toHaveLength(durable ? 10 + N : 10);

    await proxy.setMode('pass');
    await withDeadline(Promise.all(offline), 10000, 'the offline receipts');
    await waitFor(() => drains === 2, 5000, "the second 'drain'");
    await waitFor(() => receivedTexts(server).length === 10 + N, 5000, 'every message at the server');
    expect(receivedTexts(server)).toEqual(Array.from({ length: 10 + N }, (_, i) => `m${i}`));
    expect(server.connections.length).toBeGreaterThanOrEqual(2);
    expect(server.connections[server.connections.length - 1].messages.map((m) => m.data))
      .toEqual(Array.from({ length: N }, (_, i) => `m${10 + i}`));
    expect(sock.outboxSize).toBe(0);
  });
});
