'use strict';

// "Never silently dead": a silent drop is noticed by the
// heartbeat within interval + timeout, a blocked JavaScript thread does not kill a healthy
// connection (the io thread answers pings), and a suspend triggers an immediate probe.

const { ResilientSocket } = require('../../lib');
const { startWsServer } = require('../helpers/servers');
const { startFaultProxy } = require('../helpers/fault-proxy');
const { waitFor } = require('../helpers/deadline');
const { forkFixture, now, nextEvent, recordEvents, recorded, createScope } = require('./support');

// Time bounds get this much on top of the configured ones: the 2-core machine is shared.
const SLACK_MS = 1000;

let scope;
beforeEach(() => {
  scope = createScope();
});
afterEach(() => scope.dispose());

async function serverBehindProxy() {
  const server = scope.add(await startWsServer(), (s) => s.close());
  const proxy = scope.add(await startFaultProxy({ target: { port: server.port } }), (p) => p.stop());
  return { server, proxy };
}

describe('dead peer detection (blackhole)', () => {
  test('a silent drop ends in disconnect 4000 / ERR_HEARTBEAT_TIMEOUT within interval + timeout, then reconnects', async () => {
    const { proxy } = await serverBehindProxy();
    const heartbeat = { interval: 300, timeout: 200 };
    const sock = scope.socket(new ResilientSocket(proxy.url(), {
      heartbeat,
      reconnect: { initialDelay: 50, maxDelay: 500 },
      // Attempts made while the proxy still blackholes never get an answer; keep them short.
      connectTimeout: 1000,
    }));
    const events = recordEvents(sock);
    await nextEvent(sock, 'open', 5000);
    // At least one ping/pong round trip first: the heartbeat works while the path is healthy.
    const { at: lastPongAt } = await nextEvent(sock, 'heartbeat', 5000);

    const blackholedAt = now();
    await proxy.setMode('blackhole');
    const { payload: d, at: detectedAt } = await recorded(events, 'disconnect', 5000);
    // The bound counts from the last inbound byte. The pong seen just before the blackhole is
    // the last one that can have arrived, so the time since it is an upper estimate of the
    // detection time (assert the bound on it); the time since the blackhole is a lower one.
    const detection = detectedAt - blackholedAt;
    const sinceLastPong = detectedAt - lastPongAt;
    console.log(`dead peer detected ${Math.round(sinceLastPong)} ms after the last pong seen by JS ` +
      `(${Math.round(detection)} ms after the blackhole started; ` +
      `bound interval + timeout = ${heartbeat.interval + heartbeat.timeout} ms)`);

    expect(d.code).toBe(4000);
    expect(d.error && d.error.code).toBe('ERR_HEARTBEAT_TIMEOUT');
    expect(d.willReconnect).toBe(true);
    expect(d.wasClean).toBe(false);
    // Not before a probe could have timed out, not (much) after the bound.
    expect(detection).toBeGreaterThanOrEqual(heartbeat.timeout - 20);
    expect(sinceLastPong).toBeLessThanOrEqual(heartbeat.interval + heartbeat.timeout + SLACK_MS);

    const { payload: r } = await recorded(events, 'reconnecting', 2000);
    expect(r.attempt).toBe(2); // the first connection never became stable (stableAfter 5 s)
    expect(r.delay).toBeGreaterThanOrEqual(0);
    expect(r.delay).toBeLessThanOrEqual(50); // first step of the curve: full jitter over initialDelay
    expect(r.error.code).toBe('ERR_HEARTBEAT_TIMEOUT');

    await proxy.setMode('pass');
    const { payload: o } = await recorded(events, 'open', 10000, (p) => p.reconnected);
    expect(o.reconnected).toBe(true);
    expect(sock.state).toBe('open');
    // Order: the old connection ended before anything else happened.
    const names = events.map((e) => e.name).filter((n) => n !== 'state' && n !== 'heartbeat');
    expect(names.slice(0, 3)).toEqual(['connecting', 'open', 'disconnect']);
    expect(names.indexOf('reconnecting')).toBeGreaterThan(names.indexOf('disconnect'));
  });

  test('a connection that keeps getting answers is never declared dead', async () => {
    const { proxy } = await serverBehindProxy();
    // Latency below the timeout: pongs arrive late but in time.
    proxy.setLatency(60);
    const sock = scope.socket(new ResilientSocket(proxy.url(), { heartbeat: { interval: 150, timeout: 300 } }));
    const events = recordEvents(sock);
    await nextEvent(sock, 'open', 5000);
    await waitFor(() => events.filter((e) => e.name === 'heartbeat').length >= 5, 10000, '5 heartbeats');
    expect(events.some((e) => e.name === 'disconnect')).toBe(false);
    for (const e of events.filter((x) => x.name === 'heartbeat')) {
      expect(e.payload.rtt).toBeGreaterThanOrEqual(100); // two 60 ms hops
    }
  });
});

describe('a blocked JavaScript thread', () => {
  test('does not miss the server\'s pings: same connection, every message delivered in order', async () => {
    const { child, fromChild } = forkFixture(scope, 'pinging-server.js');
    const port = await fromChild('port');

    const sock = scope.socket(new ResilientSocket(`ws://127.0.0.1:${port}/`, {}));
    const events = recordEvents(sock);
    const received = [];
    sock.on('message', (data) => received.push(Number(data)));
    await nextEvent(sock, 'open', 5000);
    await waitFor(() => received.length >= 5, 5000, 'the first streamed messages');

    // Busy-wait on purpose: the JS thread is blocked for 3 s, three times the server's pong deadline.
    const blockStart = Date.now();
    while (Date.now() - blockStart < 3000) { /* blocked */ }
    const blockEnd = Date.now();
    const receivedAtUnblock = received.length;

    child.send('stop-sending');
    const report = await fromChild('report');
    await waitFor(() => received.length >= report.lastSent, 10000, `all ${report.lastSent} messages`);
    child.send('exit');

    const pongsDuringBlock = report.pongs.filter((t) => t > blockStart && t < blockEnd).length;
    console.log(`JS blocked ${blockEnd - blockStart} ms: ${pongsDuringBlock} pongs reached the server meanwhile, ` +
      `${report.lastSent - receivedAtUnblock} messages were waiting when JS resumed, terminations ${report.terminations}`);
    expect(report.terminations).toBe(0);
    expect(report.connections).toBe(1);
    expect(pongsDuringBlock).toBeGreaterThanOrEqual(5); // a ping every 300 ms for 3 s
    expect(events.filter((e) => e.name === 'disconnect' || e.name === 'reconnecting')).toEqual([]);
    expect(events.filter((e) => e.name === 'open')).toHaveLength(1);
    expect(received).toEqual(Array.from({ length: report.lastSent }, (_, i) => i + 1));
    expect(sock.state).toBe('open');
  });
});

describe('sleep/wake', () => {
  test('a simulated suspend probes at once: a dead connection is found within ~timeout, not after the 60 s interval', async () => {
    const { proxy } = await serverBehindProxy();
    const timeout = 300;
    const sock = scope.socket(new ResilientSocket(proxy.url(), {
      heartbeat: { interval: 60000, timeout },
      reconnect: { initialDelay: 50, maxDelay: 500 },
      connectTimeout: 1000,
    }));
    await nextEvent(sock, 'open', 5000);
    const events = recordEvents(sock);
    await proxy.setMode('blackhole');
    const suspendedAt = now();
    sock._nativeSimulateSuspend(10000);
    const { payload: d, at } = await recorded(events, 'disconnect', 5000);
    const detection = at - suspendedAt;
    console.log(`after a simulated 10 s suspend the dead connection was found in ${Math.round(detection)} ms ` +
      `(heartbeat.timeout ${timeout} ms + the wake check period)`);
    expect(d.code).toBe(4000);
    expect(d.error.code).toBe('ERR_HEARTBEAT_TIMEOUT');
    expect(detection).toBeGreaterThanOrEqual(timeout - 20);
    // The wake check runs about once a second while open; then one probe with the normal timeout.
    expect(detection).toBeLessThanOrEqual(1000 + timeout + SLACK_MS);
    expect(sock.stats().wakeupsDetected).toBeGreaterThanOrEqual(1);
  });

  test('a suspend on a healthy connection costs one probe, not the connection', async () => {
    const { proxy } = await serverBehindProxy();
    const sock = scope.socket(new ResilientSocket(proxy.url(), { heartbeat: { interval: 60000, timeout: 300 } }));
    const events = recordEvents(sock);
    await nextEvent(sock, 'open', 5000);
    sock._nativeSimulateSuspend(10000);
    // The probe's pong is the proof that the wake was noticed and acted on.
    const { payload: hb } = await nextEvent(sock, 'heartbeat', 3000);
    expect(hb.rtt).toBeGreaterThanOrEqual(0);
    expect(sock.stats().wakeupsDetected).toBe(1);
    expect(events.some((e) => e.name === 'disconnect')).toBe(false);
    expect(sock.state).toBe('open');
  });
});
