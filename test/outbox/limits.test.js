'use strict';

// Outbox limits: maxMessages and maxBytes, with onFull 'reject' (the new send()
// rejects with ERR_OUTBOX_FULL) and 'drop-oldest' (the oldest message leaves the outbox, its
// send() rejects with ERR_OUTBOX_FULL, the new one is accepted). Filled while offline
// (autoConnect: false), then connect(): the server receives exactly the kept messages, in order.

const { startWsServer } = require('../helpers/servers');
const { waitFor, withDeadline } = require('../helpers/deadline');
const { makeTracker, next } = require('./support');

const t = makeTracker();
afterEach(() => t.cleanup());

const tick = () => new Promise((resolve) => setImmediate(resolve));
const receivedTexts = (server) => server.connections.flatMap((c) => c.messages.map((m) => m.data));

/** send() whose outcome is recorded: { i, status } or { i, code }. */
function tracked(sock, text, outcomes) {
  return sock.send(text).then(
    (r) => outcomes.push({ text, status: r.status }),
    (err) => outcomes.push({ text, code: err.code, message: err.message }),
  );
}

/** Connects an offline socket and waits until the server has `expected` messages, then for 'drain'. */
async function deliver(sock, server, expected) {
  const drained = next(sock, 'drain', 5000);
  sock.connect();
  await drained;
  await waitFor(() => receivedTexts(server).length >= expected.length, 5000, 'the kept messages at the server');
  await new Promise((resolve) => setTimeout(resolve, 50)); // nothing more follows
  expect(receivedTexts(server)).toEqual(expected);
}

describe.each([
  ['in memory', false],
  ['file outbox', true],
])('limits (%s)', (label, durable) => {
  const socketWith = async (outbox) => {
    const server = t.add(await startWsServer({ echo: false }));
    if (durable) outbox.path = `${t.tempDir('limits')}/outbox`;
    const sock = t.socket(server.url, { autoConnect: false, heartbeat: false, outbox });
    return { server, sock };
  };
  const accepted = durable ? 'persisted' : 'written';

  test("onFull 'reject', maxMessages 5: the 6th send() rejects with ERR_OUTBOX_FULL, the first five go out", async () => {
    const { server, sock } = await socketWith({ maxMessages: 5 });
    const outcomes = [];
    const all = [];
    for (let i = 0; i < 6; i++) all.push(tracked(sock, `m${i}`, outcomes));
    await tick();
    await waitFor(() => outcomes.some((o) => o.code), 5000, 'the rejection');
    expect(outcomes.find((o) => o.code)).toMatchObject({ text: 'm5', code: 'ERR_OUTBOX_FULL', message: expect.stringContaining('maxMessages 5') });
    expect(sock.outboxSize).toBe(5);
    // Still full in a later tick.
    await tracked(sock, 'm6', outcomes);
    expect(outcomes.find((o) => o.text === 'm6')).toMatchObject({ code: 'ERR_OUTBOX_FULL' });

    await deliver(sock, server, ['m0', 'm1', 'm2', 'm3', 'm4']);
    await withDeadline(Promise.all(all), 5000, 'every outcome');
    expect(outcomes.filter((o) => o.status).map((o) => o.text).sort()).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    expect(outcomes.filter((o) => o.status).every((o) => o.status === accepted)).toBe(true);
    // Room again once delivered.
    expect((await sock.send('m7')).status).toBe(accepted);
  });

  test("onFull 'drop-oldest', maxMessages 5, across ticks: the oldest two reject, the newest are kept", async () => {
    const { server, sock } = await socketWith({ maxMessages: 5, onFull: 'drop-oldest' });
    const outcomes = [];
    const all = [];
    for (let i = 0; i < 5; i++) all.push(tracked(sock, `m${i}`, outcomes));
    await tick();
    await waitFor(() => sock.outboxSize === 5, 5000, 'five queued');
    // On disk, wait for the group commit: a send that has resolved 'persisted' stays resolved even
    // when it is dropped later (an unsynced one may be dropped before it resolves, and rejects).
    if (durable) await withDeadline(Promise.all(all), 5000, 'the first five persisted');
    for (let i = 5; i < 7; i++) all.push(tracked(sock, `m${i}`, outcomes));
    if (durable) {
      // On disk the five had resolved already ('persisted'); the new two are stored too.
      await withDeadline(Promise.all(all), 5000, 'the new receipts');
      expect(outcomes.map((o) => o.status)).toEqual(Array(7).fill('persisted'));
    } else {
      // In memory nothing had resolved yet: the evicted sends learn it by a rejection.
      await waitFor(() => outcomes.length === 2, 5000, 'two rejections');
      expect(outcomes).toEqual([
        { text: 'm0', code: 'ERR_OUTBOX_FULL', message: expect.stringContaining('drop-oldest') },
        { text: 'm1', code: 'ERR_OUTBOX_FULL', message: expect.stringContaining('drop-oldest') },
      ]);
    }
    expect(sock.outboxSize).toBe(5);
    await deliver(sock, server, ['m2', 'm3', 'm4', 'm5', 'm6']);
    await withDeadline(Promise.all(all), 5000, 'every outcome');
  });

  test("onFull 'drop-oldest', maxMessages 5, seven sends in one tick: the first two reject, the last five are kept", async () => {
    const { server, sock } = await socketWith({ maxMessages: 5, onFull: 'drop-oldest' });
    const outcomes = [];
    const all = [];
    for (let i = 0; i < 7; i++) all.push(tracked(sock, `m${i}`, outcomes));
    await withDeadline(Promise.all(all.slice(0, 2)), 5000, 'the two oldest to settle');
    expect(outcomes.filter((o) => o.code).map((o) => o.text)).toEqual(['m0', 'm1']);
    expect(outcomes.filter((o) => o.code).every((o) => o.code === 'ERR_OUTBOX_FULL')).toBe(true);
    await deliver(sock, server, ['m2', 'm3', 'm4', 'm5', 'm6']);
    await withDeadline(Promise.all(all), 5000, 'every outcome');
    expect(outcomes.filter((o) => o.status).map((o) => o.text).sort()).toEqual(['m2', 'm3', 'm4', 'm5', 'm6']);
  });

  test("maxBytes with 'reject': the message that would cross the limit rejects, the others go out", async () => {
    const { server, sock } = await socketWith({ maxBytes: 100 });
    const outcomes = [];
    const texts = ['a', 'b', 'c', 'd'].map((c) => c.repeat(30));
    const all = texts.map((text) => tracked(sock, text, outcomes));
    await waitFor(() => outcomes.some((o) => o.code), 5000, 'the rejection');
    expect(outcomes.find((o) => o.code)).toMatchObject({ text: texts[3], code: 'ERR_OUTBOX_FULL', message: expect.stringContaining('maxBytes 100') });
    await deliver(sock, server, texts.slice(0, 3));
    await withDeadline(Promise.all(all), 5000, 'every outcome');
  });

  test("maxBytes with 'drop-oldest': the oldest leave to make room; a message larger than maxBytes rejects alone", async () => {
    const { server, sock } = await socketWith({ maxBytes: 100, onFull: 'drop-oldest' });
    const outcomes = [];
    const texts = ['a', 'b', 'c', 'd', 'e'].map((c) => c.repeat(30));
    const all = texts.map((text) => tracked(sock, text, outcomes));
    await tick();
    await waitFor(() => sock.outboxSize === 3, 5000, 'three queued');
    // Too large for any outbox of this size: it must not empty the outbox on its way out.
    all.push(tracked(sock, 'z'.repeat(101), outcomes));
    await waitFor(() => outcomes.some((o) => o.text.startsWith('z')), 5000, 'the oversized message to be refused');
    expect(outcomes.find((o) => o.text.startsWith('z'))).toMatchObject({ code: 'ERR_OUTBOX_FULL' });
    expect(sock.outboxSize).toBe(3);
    if (!durable) expect(outcomes.filter((o) => o.code).map((o) => o.text)).toEqual([texts[0], texts[1], 'z'.repeat(101)]);
    await deliver(sock, server, texts.slice(2));
    await withDeadline(Promise.all(all), 5000, 'every outcome');
  });
});

test("file outbox with 'drop-oldest': dropped records do not come back after a restart", async () => {
  const server = t.add(await startWsServer({ echo: false }));
  const path = `${t.tempDir('limits')}/outbox`;
  const outbox = { path, maxMessages: 3, onFull: 'drop-oldest' };
  const first = t.socket(server.url, { autoConnect: false, heartbeat: false, outbox });
  for (let i = 0; i < 3; i++) await first.send(`m${i}`);
  for (let i = 3; i < 6; i++) await first.send(`m${i}`); // each one drops the oldest on disk too
  await first.close();

  const second = t.socket(server.url, { heartbeat: false, outbox });
  await next(second, 'drain');
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(receivedTexts(server)).toEqual(['m3', 'm4', 'm5']);
});
