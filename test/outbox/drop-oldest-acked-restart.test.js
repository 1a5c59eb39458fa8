'use strict';

// Regression (review r9): a file outbox with guarantee 'acked', onFull 'drop-oldest' and a
// server that acks out of order used to lose track of which records were still owed: messages
// that were neither acked nor dropped were missing from the log, so a restarted process did not
// redeliver them (and the memory and disk views of the outbox disagreed). After a restart on the
// same path, exactly the messages that were neither acked nor dropped (their send() rejected
// ERR_OUTBOX_FULL) come back, in order and with their original keys; nothing acked comes back.

const { startWsServer } = require('../helpers/servers');
const { waitFor, withDeadline, quietPeriod } = require('../helpers/deadline');
const { makeTracker, next } = require('./support');

const t = makeTracker();
afterEach(() => t.cleanup());

/**
 * A non-echo server that acks the keys in `toAck` (changeable between runs) and records every
 * message as { connection, n, key }.
 */
async function startAckingServer() {
  const toAck = new Set();
  const seen = [];
  let connections = 0;
  const server = t.add(await startWsServer({
    echo: false,
    onConnection: (ws) => {
      const connection = ++connections;
      ws.on('message', (data) => {
        const { n, key } = JSON.parse(data.toString('utf8'));
        seen.push({ connection, n, key });
        if (toAck.has(key)) ws.send(JSON.stringify({ type: 'ack', key }));
      });
    },
  }));
  return { server, toAck, seen, of: (connection) => seen.filter((m) => m.connection === connection) };
}

/** The options of every run: one outbox directory, reused across "process restarts". */
const optionsFor = (dir, extra = {}) => ({
  heartbeat: false,
  ...extra,
  outbox: { path: dir, guarantee: 'acked', onFull: 'drop-oldest', maxMessages: 2, keyField: 'key' },
});

/** send() of { n } with key K-<n>; records the outcome under n. */
function sender(sock, outcomes, order) {
  return (n) => {
    order.push(n);
    return sock.send(JSON.stringify({ n }), { key: `K-${n}` }).then(
      (r) => { outcomes[n] = { status: r.status, key: r.key }; },
      (err) => { outcomes[n] = { code: err.code }; },
    );
  };
}

/** The messages a run should leave for the next one: neither acked nor dropped, in send order. */
const owed = (order, outcomes) => order.filter((n) => outcomes[n].status !== 'acked' && outcomes[n].code !== 'ERR_OUTBOX_FULL');

/**
 * Opens a new socket on `dir` (a restarted process), lets the server (acking `ackNow`) receive
 * what the outbox redelivers, then closes it. Returns the messages of that connection.
 */
async function restart(peer, dir, connection, ackNow, expectedCount) {
  peer.toAck.clear();
  for (const key of ackNow) peer.toAck.add(key);
  const sock = t.socket(peer.server.url, optionsFor(dir));
  const acked = [];
  sock.on('ack', (e) => acked.push(e.key));
  await next(sock, 'open');
  await waitFor(() => peer.of(connection).length >= expectedCount, 5000, `${expectedCount} redelivered message(s)`);
  await waitFor(() => acked.length === ackNow.length, 5000, 'the acks of this run');
  await quietPeriod(200); // nothing more follows
  await withDeadline(sock.close(), 5000, 'close()');
  return peer.of(connection);
}

test('the review scenario: out-of-order acks while full, then restarts redeliver exactly what is owed', async () => {
  const peer = await startAckingServer();
  const dir = `${t.tempDir('r9')}/outbox`;
  peer.toAck.add('K-m2');
  peer.toAck.add('K-m5');
  const sock = t.socket(peer.server.url, optionsFor(dir));
  await next(sock, 'open');
  const outcomes = {};
  const order = [];
  const send = sender(sock, outcomes, order);
  const all = [send('m1'), send('m2')];
  // m2 is acked while m1, older, is not: the out-of-order ack.
  await waitFor(() => outcomes.m2, 5000, 'the ack of m2');
  all.push(send('m3'));
  await waitFor(() => peer.seen.length === 3, 5000, 'm3 at the server');
  // m1 and m3 are on the wire and unacked: nothing can be evicted for m4 or m5.
  all.push(send('m4'));
  await waitFor(() => outcomes.m4, 5000, 'm4 to settle');
  all.push(send('m5'));
  await waitFor(() => outcomes.m5, 5000, 'm5 to settle');
  expect(outcomes).toEqual({
    m2: { status: 'acked', key: 'K-m2' },
    m4: { code: 'ERR_OUTBOX_FULL' },
    m5: { code: 'ERR_OUTBOX_FULL' },
  });
  expect(sock.outboxSize).toBe(2);
  expect(peer.seen.map((m) => m.n)).toEqual(['m1', 'm2', 'm3']);
  await withDeadline(sock.close(), 5000, 'close()');
  await withDeadline(Promise.all(all), 5000, 'every send() to settle');
  // What close() did to the two owed ones (left on disk for the next process) is not the
  // point; what the next process does with them is.
  expect(owed(order, outcomes)).toEqual(['m1', 'm3']);

  // Restart 1: m1 and m3 come back with their keys; the server now acks m3 only (out of order again).
  const second = await restart(peer, dir, 2, ['K-m3'], 2);
  expect(second.map(({ n, key }) => ({ n, key }))).toEqual([{ n: 'm1', key: 'K-m1' }, { n: 'm3', key: 'K-m3' }]);
  // Restart 2: only m1 is still owed; acked now.
  const third = await restart(peer, dir, 3, ['K-m1'], 1);
  expect(third.map(({ n, key }) => ({ n, key }))).toEqual([{ n: 'm1', key: 'K-m1' }]);
  // Restart 3: nothing is owed any more.
  const fourth = await restart(peer, dir, 4, [], 0);
  expect(fourth).toEqual([]);
  expect(peer.server.connections).toHaveLength(4);
});

test('evicted while offline, then acked out of order: a restart redelivers exactly the owed ones', async () => {
  const peer = await startAckingServer();
  const dir = `${t.tempDir('r9-offline')}/outbox`;
  const sock = t.socket(peer.server.url, optionsFor(dir, { autoConnect: false }));
  const outcomes = {};
  const order = [];
  const send = sender(sock, outcomes, order);
  const all = [];
  // One tick each, so each eviction is of an earlier batch's record, which is already in the log.
  for (const [i, n] of ['m1', 'm2', 'm3', 'm4', 'm5'].entries()) {
    all.push(send(n));
    if (i >= 2) await waitFor(() => outcomes[order[i - 2]], 5000, `${order[i - 2]} to be dropped for ${n}`);
    await waitFor(() => sock.outboxSize === Math.min(i + 1, 2), 5000, `${n} queued`);
  }
  expect(outcomes).toEqual({ m1: { code: 'ERR_OUTBOX_FULL' }, m2: { code: 'ERR_OUTBOX_FULL' }, m3: { code: 'ERR_OUTBOX_FULL' } });

  // Online: the server acks m5 while m4, older, stays unacked.
  peer.toAck.add('K-m5');
  sock.connect();
  await waitFor(() => outcomes.m5, 5000, 'the ack of m5');
  expect(outcomes.m5).toEqual({ status: 'acked', key: 'K-m5' });
  expect(peer.seen.map((m) => m.n)).toEqual(['m4', 'm5']);
  await withDeadline(sock.close(), 5000, 'close()');
  await withDeadline(Promise.all(all), 5000, 'every send() to settle');
  expect(owed(order, outcomes)).toEqual(['m4']);

  const second = await restart(peer, dir, 2, [], 1);
  expect(second.map(({ n, key }) => ({ n, key }))).toEqual([{ n: 'm4', key: 'K-m4' }]);
});
