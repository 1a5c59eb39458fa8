'use strict';

// Regression (review r3): onFull 'drop-oldest' used to evict the head of the outbox even while
// that message was being written to the socket, so its send() rejected ERR_OUTBOX_FULL
// ("dropped") although the server then received it in full. A message already handed to the
// socket is never reported dropped: only messages not yet on the wire are evicted, oldest first,
// and when none can be evicted the new send() itself rejects ERR_OUTBOX_FULL.
//
// maxMessages bounds the messages that wait ("while connected, messages go
// straight out"): one already handed to the socket does not count, so with maxMessages 3 three
// more can wait behind m1 before the oldest waiting one is evicted. maxBytes still counts every
// byte the outbox holds, the one on the wire included.
//
// "On the wire" is made certain, not guessed: the server stops reading (ws.pause()) as soon as
// the first bytes of a large message reach it, so that message's write stays in progress (far
// larger than the loopback socket buffers) until the test resumes the server.

const { startWsServer } = require('../helpers/servers');
const { waitFor, withDeadline, quietPeriod } = require('../helpers/deadline');
const { makeTracker, next } = require('./support');

const t = makeTracker();
afterEach(() => t.cleanup());

const BIG = 24 << 20; // well beyond what loopback TCP buffers absorb, so the write stays in flight
const big = (name) => `${name}:${'x'.repeat(BIG)}`;

/** Outcomes by name, as they settle: { status } or { code, message }. */
function outcomes() {
  const settled = {};
  return {
    settled,
    track(name, promise) {
      promise.then((r) => { settled[name] = { status: r.status }; }, (err) => { settled[name] = { code: err.code, message: err.message }; });
      return promise.catch(() => {});
    },
  };
}

/**
 * A non-echo server that stops reading as soon as the first bytes after the handshake arrive.
 * @returns {Promise<{server: object, stalled: () => boolean, resume: () => void, names: () => string[]}>}
 */
async function startStallingServer() {
  let stalledWs = null;
  const server = t.add(await startWsServer({
    echo: false,
    maxPayload: 64 << 20,
    onConnection: (ws, req) => {
      req.socket.once('data', () => {
        ws.pause();
        stalledWs = ws;
      });
    },
  }));
  return {
    server,
    stalled: () => stalledWs !== null,
    resume: () => stalledWs.resume(),
    // What the server received, by name (the part before ':').
    names: () => server.connections.flatMap((c) => c.messages.map((m) => m.data.slice(0, m.data.indexOf(':')))),
  };
}

/** Opens a socket and puts a large message on the wire; resolves once the server holds part of it. */
async function withMessageInFlight(outbox) {
  const peer = await startStallingServer();
  const sock = t.socket(peer.server.url, { heartbeat: false, outbox: { onFull: 'drop-oldest', ...outbox } });
  const drains = [];
  sock.on('drain', () => drains.push(Date.now()));
  await next(sock, 'open');
  const o = outcomes();
  const all = [o.track('m1', sock.send(big('m1')))];
  await waitFor(() => {
    if (o.settled.m1) throw new Error(`m1 settled first: ${JSON.stringify(o.settled.m1)}`);
    return peer.stalled();
  }, 10000, 'the first bytes of m1 at the server');
  await waitFor(() => sock.stats().messagesOut === 1, 5000, 'stats: m1 handed to the socket');
  return { peer, sock, o, all, drains };
}

test('room is made by evicting the oldest unsent messages; the one being written is kept and delivered', async () => {
  const { peer, sock, o, all, drains } = await withMessageInFlight({ maxMessages: 3, maxBytes: 64 << 20 });
  // m2, m3 and m4 in ticks of their own: they wait behind m1 (one write in flight) and fill the
  // three waiting places; m1 on the wire does not take one.
  all.push(o.track('m2', sock.send('m2:small')));
  await waitFor(() => sock.outboxSize === 2, 5000, 'm2 queued');
  all.push(o.track('m3', sock.send('m3:small')));
  await waitFor(() => sock.outboxSize === 3, 5000, 'm3 queued');
  all.push(o.track('m4', sock.send('m4:small')));
  await waitFor(() => sock.outboxSize === 4, 5000, 'm4 queued (three waiting: full)');
  expect(o.settled).toEqual({});

  all.push(o.track('m5', sock.send('m5:small')));
  await waitFor(() => o.settled.m2, 5000, 'm2 to be dropped for m5');
  all.push(o.track('m6', sock.send('m6:small')));
  await waitFor(() => o.settled.m3, 5000, 'm3 to be dropped for m6');
  await quietPeriod(100);
  expect(o.settled).toEqual({
    m2: { code: 'ERR_OUTBOX_FULL', message: expect.stringContaining('drop-oldest') },
    m3: { code: 'ERR_OUTBOX_FULL', message: expect.stringContaining('drop-oldest') },
  }); // m1 (on the wire), m4, m5 and m6 still pending
  expect(sock.outboxSize).toBe(4);

  peer.resume();
  await withDeadline(Promise.all(all), 15000, 'every send() to settle');
  expect(o.settled).toMatchObject({
    m1: { status: 'written' }, m4: { status: 'written' }, m5: { status: 'written' }, m6: { status: 'written' },
  });
  await waitFor(() => peer.names().length >= 4, 10000, 'four messages at the server');
  await waitFor(() => drains.length === 1, 5000, "'drain'");
  await quietPeriod(100);
  expect(peer.names()).toEqual(['m1', 'm4', 'm5', 'm6']);
  expect(peer.server.connections[0].messages[0].data.length).toBe(big('m1').length);
});

// Only maxBytes can leave nothing evictable: under maxMessages every counted message is a
// waiting one, and waiting ones can be evicted.
describe.each([
  ['maxBytes', { maxBytes: 40 << 20 }, () => big('m2')],
])('nothing evictable (%s)', (label, limits, second) => {
  test('the new send() rejects ERR_OUTBOX_FULL and the message on the wire still resolves', async () => {
    const { peer, sock, o, all, drains } = await withMessageInFlight(limits);
    all.push(o.track('m2', sock.send(second())));
    await waitFor(() => o.settled.m2, 5000, 'm2 to be refused');
    expect(o.settled).toEqual({ m2: { code: 'ERR_OUTBOX_FULL', message: expect.stringContaining('full') } });
    expect(sock.outboxSize).toBe(1);

    peer.resume();
    await withDeadline(Promise.all(all), 15000, 'm1 to settle');
    expect(o.settled.m1).toEqual({ status: 'written' });
    await waitFor(() => drains.length === 1, 5000, "'drain'");
    // Room again once m1 is out.
    expect(await withDeadline(sock.send('m3:small'), 5000, 'm3')).toMatchObject({ status: 'written' });
    await waitFor(() => peer.names().length >= 2, 10000, 'both messages at the server');
    await quietPeriod(100);
    expect(peer.names()).toEqual(['m1', 'm3']);
  });
});
