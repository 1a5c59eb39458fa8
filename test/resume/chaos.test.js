'use strict';

// Resume under repeated aborts: a 200 events/s stream through a fault proxy that
// resets the connection twenty times at random moments. The application must see every
// event exactly once and in order, and every reconnect must ask for the id of the last
// event the application saw.

const { startReplayServer } = require('../helpers/replay-server');
const { startFaultProxy } = require('../helpers/fault-proxy');
const { onceWithin, waitFor } = require('../helpers/deadline');
const {
  FAST_RECONNECT, makeTracker, recordMessages, sequenceProblem, afterParam, startOverlapServer, waitForId,
} = require('./support');

const t = makeTracker();
afterEach(() => t.cleanup());

const RATE_HZ = 200;
const ABORTS = 20;
const OVERLAP = 5;

/** Resolves after a random 20–250 ms: the moment of the next abort, not a wait for anything. */
function randomMoment() {
  return new Promise((resolve) => setTimeout(resolve, 20 + Math.floor(Math.random() * 230)));
}

describe.each([
  ['the reference replay server (replays exactly after the id)', 'exact'],
  [`a server that also re-sends the last ${OVERLAP} events the client has`, 'overlap'],
])('200 events/s with %s', (label, kind) => {
  test(`${ABORTS} resets at random moments: ids 1..N exactly once, in order; each reconnect asks for the last delivered id`, async () => {
    const server = kind === 'exact'
      ? t.add(await startReplayServer({ keep: 100000 }))
      : t.add(await startOverlapServer({ overlap: OVERLAP }));
    const proxy = t.add(await startFaultProxy({ target: { port: server.port } }));
    const sock = t.socket(proxy.url('/'), { resume: { idField: 'id' }, reconnect: FAST_RECONNECT, heartbeat: false });
    const rec = recordMessages(sock);
    // What the application had seen when each attempt started: what that attempt must ask for.
    const lastSeenAtAttempt = [];
    sock.on('connecting', () => lastSeenAtAttempt.push(rec.lastId()));
    let opens = 0;
    sock.on('open', () => { opens += 1; });

    await onceWithin(sock, 'open', 5000);
    server.start(RATE_HZ);
    for (let i = 0; i < ABORTS; i++) {
      await waitFor(() => opens === i + 1, 5000, `connection ${i + 1} open`);
      // Replayed events (and any re-sent duplicates) come before live ones, so once an id past
      // the resume position arrived, this connection's replay has been fully processed.
      await waitForId(rec, lastSeenAtAttempt[lastSeenAtAttempt.length - 1] + 1);
      await randomMoment();
      proxy.resetAll();
    }
    await waitFor(() => opens === ABORTS + 1, 5000, 'the last reconnect');
    server.stop();
    const head = server.head;
    await waitForId(rec, head);

    expect(sequenceProblem(rec.ids, 1, head)).toBe('');
    expect(head).toBeGreaterThan(ABORTS * 4); // the stream really ran between the aborts
    const stats = sock.stats();
    expect(stats.reconnects).toBe(ABORTS);
    expect(stats.idGaps).toBe(0);
    expect(stats.idsMissing).toBe(0);

    // One attempt per connection, each request asking for what the application had seen.
    expect(lastSeenAtAttempt).toHaveLength(ABORTS + 1);
    expect(proxy.requests.map((r) => afterParam(r.target)))
      .toEqual(lastSeenAtAttempt.map((id) => (id === 0 ? null : id)));
    for (let k = 1; k < lastSeenAtAttempt.length; k++) {
      expect(lastSeenAtAttempt[k]).toBeGreaterThan(lastSeenAtAttempt[k - 1]);
    }

    if (kind === 'exact') {
      expect(server.log.map((e) => e.after)).toEqual(lastSeenAtAttempt.map((id) => (id === 0 ? null : id)));
      expect(server.log.slice(1).every((e) => e.via === 'query' && !e.reset)).toBe(true);
      expect(stats.duplicatesDropped).toBe(0); // nothing was sent twice, so nothing may be dropped
    } else {
      expect(server.log.map((e) => e.after)).toEqual(lastSeenAtAttempt.map((id) => (id === 0 ? null : id)));
      // Every re-sent event was dropped and counted, and nothing else was.
      const resent = server.log.reduce((sum, e) => sum + (e.after === null ? 0 : e.after - e.from + 1), 0);
      expect(resent).toBe(lastSeenAtAttempt.slice(1).reduce((sum, id) => sum + Math.min(OVERLAP, id), 0));
      expect(stats.duplicatesDropped).toBe(resent);
    }
  }, 60000);
});
