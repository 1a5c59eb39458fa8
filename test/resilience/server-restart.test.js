'use strict';

// Server restarts: a killed server that comes back on the
// same port gets its clients back; a stable connection retries at once, an unstable one backs
// off; a fleet of clients spreads its retries instead of arriving in lockstep.

const { ResilientSocket } = require('../../lib');
const { withDeadline, waitFor } = require('../helpers/deadline');
const { now, nextEvent, recordEvents, createScope, startRestartableServer, busiestWindow } = require('./support');

let scope;
beforeEach(() => {
  scope = createScope();
});
afterEach(() => scope.dispose());

describe('server killed and restarted on the same port', () => {
  test('a stable connection retries at once, then backs off while refused, and reconnects when the server is back', async () => {
    const server = scope.add(await startRestartableServer(), (s) => s.stop());
    const sock = scope.socket(new ResilientSocket(server.url, {
      reconnect: { initialDelay: 50, maxDelay: 500, stableAfter: 300 },
      heartbeat: { interval: 300, timeout: 200 },
    }));
    const events = recordEvents(sock);
    await nextEvent(sock, 'open', 5000);
    // stats().attempt drops to 0 once the connection has stayed open for stableAfter.
    await waitFor(() => sock.stats().attempt === 0, 5000, 'the connection to count as stable');

    const killedAt = now();
    const disconnected = nextEvent(sock, 'disconnect', 3000);
    await server.stop();
    const { payload: d } = await disconnected;
    expect(d.willReconnect).toBe(true);
    expect(d.code).toBe(1006);
    expect(d.error.code).toBe('ERR_CONNECTION_LOST');

    // Several refused attempts while the server is down.
    await waitFor(() => events.filter((e) => e.name === 'reconnecting').length >= 4, 5000, '4 reconnecting events');
    await server.start();
    const { payload: o } = await nextEvent(sock, 'open', 5000);
    expect(o.reconnected).toBe(true);
    expect(server.clientCount()).toBe(1);

    const retries = events.filter((e) => e.name === 'reconnecting' && e.at > killedAt);
    const connecting = events.filter((e) => e.name === 'connecting' && e.at > killedAt);
    console.log('after a stable connection: reconnecting ' +
      retries.map((e) => `#${e.payload.attempt} in ${e.payload.delay} ms`).join(', '));
    // The first retry after a stable connection is immediate...
    expect(retries[0].payload.attempt).toBe(1);
    expect(retries[0].payload.delay).toBe(0);
    expect(connecting[0].payload.attempt).toBe(1);
    expect(connecting[0].at - retries[0].at).toBeLessThan(500);
    // ...the following ones are numbered in order and follow the (jittered) curve.
    retries.forEach((e, i) => {
      expect(e.payload.attempt).toBe(i + 1);
      expect(e.payload.delay).toBeGreaterThanOrEqual(0);
      expect(e.payload.delay).toBeLessThanOrEqual(500);
      expect(typeof e.payload.reason).toBe('string');
    });
    expect(retries.slice(1).map((e) => e.payload.error && e.payload.error.code)).toEqual(retries.slice(1).map(() => 'ERR_CONNECTION_REFUSED'));
    // Each attempt starts no sooner than the delay its reconnecting event announced. Both times
    // are when JavaScript saw the events, and a loaded machine can hand the first of the two to
    // JavaScript some milliseconds late: 25 ms of slack, far below the delays of a retry storm.
    for (const r of retries) {
      const next = connecting.find((c) => c.payload.attempt === r.payload.attempt);
      if (next) expect(next.at - r.at).toBeGreaterThanOrEqual(r.payload.delay - 25);
    }
  });

  test('a connection that dropped before stableAfter backs off instead of retrying at once', async () => {
    const server = scope.add(await startRestartableServer(), (s) => s.stop());
    const sock = scope.socket(new ResilientSocket(server.url, {
      // equal jitter: the delay is at least half the curve, so "not immediate" is certain.
      reconnect: { initialDelay: 400, maxDelay: 2000, jitter: 'equal', stableAfter: 60000 },
    }));
    const { payload: first } = await nextEvent(sock, 'open', 5000);
    const retry = nextEvent(sock, 'reconnecting', 3000);
    await server.stop();
    const { payload: r1, at } = await retry;
    // The attempt counter did not reset: this is the second attempt, after the first failure.
    expect(r1.attempt).toBe(first.attempt + 1);
    expect(r1.delay).toBeGreaterThanOrEqual(200);
    expect(r1.delay).toBeLessThanOrEqual(400);
    await server.start();
    const { payload: c, at: connectingAt } = await nextEvent(sock, 'connecting', 3000);
    // As above: JavaScript's view of both events, 25 ms of slack for a late first one (a retry
    // at once would be ~200 ms short).
    expect(connectingAt - at).toBeGreaterThanOrEqual(r1.delay - 25);
    expect(c.attempt).toBe(r1.attempt);
    await nextEvent(sock, 'open', 5000);
  });
});

describe('a fleet of 200 clients and a restarting server', () => {
  const CLIENTS = 200;

  test('retries after the immediate one are spread: no 250 ms window takes more than 25% of them', async () => {
    const server = scope.add(await startRestartableServer(), (s) => s.stop());
    const sockets = [];
    const attempts = []; // { at, attempt, index }
    const opened = new Set();
    let phase = 'startup';
    for (let i = 0; i < CLIENTS; i += 1) {
      const sock = new ResilientSocket(server.url, {
        reconnect: { initialDelay: 1000, maxDelay: 2000, stableAfter: 500 },
        heartbeat: false,
      });
      sockets.push(sock);
      sock.on('connecting', ({ attempt }) => {
        if (phase === 'restart') attempts.push({ at: now(), attempt, index: i });
      });
      sock.on('open', () => opened.add(i));
    }
    scope.add(sockets, (all) => withDeadline(Promise.all(all.map((s) => s.close())), 20000, `closing ${CLIENTS} sockets`));

    await waitFor(() => opened.size === CLIENTS, 30000, `${CLIENTS} clients open`);
    await waitFor(() => sockets.every((s) => s.stats().attempt === 0), 10000, 'every connection to be stable');
    opened.clear();

    // Kill every connection without a close frame and refuse new ones for ~1 s.
    phase = 'restart';
    const killedAt = now();
    await server.stop();
    const downFor = 1000;
    await new Promise((resolve) => setTimeout(resolve, downFor)); // the outage itself, not a wait for a result
    const restartedAt = now();
    const acceptedBefore = server.connections.length;
    await server.start();
    await waitFor(() => opened.size === CLIENTS, 30000, `${CLIENTS} clients reopened`);
    const serverSide = server.connections.slice(acceptedBefore).map((c) => c.at);

    // attempt 1 is the immediate retry of a stable connection (reconnect.immediate).
    const immediate = attempts.filter((a) => a.attempt === 1).map((a) => a.at);
    const later = attempts.filter((a) => a.attempt > 1).map((a) => a.at);
    const immediateWindow = busiestWindow(immediate, 250);
    const laterWindow = busiestWindow(later, 250);
    const serverWindow = busiestWindow(serverSide, 250);
    const fmt = (t) => Math.round(t - killedAt);
    console.log([
      `fleet of ${CLIENTS}, server down ${Math.round(restartedAt - killedAt)} ms:`,
      `  immediate retries: ${immediate.length}, spanning ${fmt(Math.min(...immediate))}..${fmt(Math.max(...immediate))} ms ` +
        `after the kill; busiest 250 ms window ${immediateWindow.count} (${(100 * immediateWindow.count / immediate.length).toFixed(0)}%)`,
      `  backed-off attempts: ${later.length}, spanning ${fmt(Math.min(...later))}..${fmt(Math.max(...later))} ms; ` +
        `busiest 250 ms window ${laterWindow.count} (${(100 * laterWindow.count / later.length).toFixed(1)}%) at ${fmt(laterWindow.start)} ms`,
      `  server-side accepts after the restart: ${serverSide.length}, busiest 250 ms window ${serverWindow.count} ` +
        `(${(100 * serverWindow.count / serverSide.length).toFixed(1)}%)`,
    ].join('\n'));

    // Every client made exactly one immediate retry, and it was refused (server down).
    expect(immediate).toHaveLength(CLIENTS);
    expect(new Set(attempts.filter((a) => a.attempt === 1).map((a) => a.index)).size).toBe(CLIENTS);
    expect(later.length).toBeGreaterThanOrEqual(CLIENTS);
    expect(laterWindow.count).toBeLessThanOrEqual(0.25 * later.length);
    // The server sees the reconnections spread out too, not as one burst. Looser bound: these
    // are only the 200 successful attempts, and the first ~100 ms after the restart collect
    // both the last second-attempt timers and the third attempts (typically 20-24%).
    expect(serverSide).toHaveLength(CLIENTS);
    expect(serverWindow.count).toBeLessThanOrEqual(CLIENTS / 3);
  });
});
