'use strict';

// Kernel-level faults (TESTING.md "Network namespaces"): the ws echo server runs inside a
// private network namespace reached over a veth pair, and the faults are made by the kernel,
// not by a proxy: an iptables DROP is a true silent drop (the TCP connection stays ESTABLISHED),
// REJECT --reject-with tcp-reset answers with resets, and `ss -K` destroys the client's socket.
// Needs root, iproute2 and iptables; skipped with one line where they are not there.

const { ResilientSocket } = require('../../lib');
const { now, nextEvent, recordEvents, recorded, createScope } = require('../resilience/support');
const { createNetns, unavailableReason, run } = require('./support');

const HEARTBEAT = { interval: 300, timeout: 300 };
const RECONNECT = { initialDelay: 50, maxDelay: 300 };
const DETECTION_LIMIT_MS = 3000; // interval + timeout = 600 ms, plus generous slack (shared CI)

const reason = unavailableReason();
if (reason) console.log(`test/netns skipped: ${reason}`);
const describeNetns = reason ? describe.skip : describe;

describeNetns('kernel-level faults in a network namespace', () => {
  let env;
  let scope;

  beforeAll(async () => {
    env = await createNetns();
  });
  afterAll(async () => {
    if (env) await env.teardown();
  });
  beforeEach(() => {
    scope = createScope();
  });
  afterEach(async () => {
    try {
      await scope.dispose();
    } finally {
      // A failed test must not leave its rule in place for the next one.
      run('ip', ['netns', 'exec', env.ns, 'iptables', '-w', '-F', 'INPUT']);
      run('ip', ['netns', 'exec', env.ns, 'iptables', '-w', '-F', 'OUTPUT']);
    }
  });

  function openSocket() {
    const sock = scope.socket(new ResilientSocket(env.url, {
      heartbeat: HEARTBEAT,
      reconnect: RECONNECT,
      // Attempts made while packets are dropped never get an answer; keep them short.
      connectTimeout: 1000,
    }));
    return { sock, events: recordEvents(sock) };
  }

  test('iptables DROP (silent drop) ends in disconnect 4000 / ERR_HEARTBEAT_TIMEOUT, then reconnects', async () => {
    const { sock, events } = openSocket();
    await nextEvent(sock, 'open', 5000);
    const { at: lastPongAt } = await nextEvent(sock, 'heartbeat', 5000);

    const inRule = ['INPUT', '-p', 'tcp', '--dport', String(env.port), '-j', 'DROP'];
    const outRule = ['OUTPUT', '-p', 'tcp', '--sport', String(env.port), '-j', 'DROP'];
    const droppedAt = now();
    env.iptables('-I', ...inRule);
    env.iptables('-I', ...outRule);

    const { payload: d, at: detectedAt } = await recorded(events, 'disconnect', 5000);
    const sinceDrop = detectedAt - droppedAt;
    const sinceLastPong = detectedAt - lastPongAt;
    console.log(`kernel DROP detected ${Math.round(sinceDrop)} ms after the rule went in ` +
      `(${Math.round(sinceLastPong)} ms after the last pong; interval + timeout = ` +
      `${HEARTBEAT.interval + HEARTBEAT.timeout} ms)`);
    expect(d.code).toBe(4000);
    expect(d.error && d.error.code).toBe('ERR_HEARTBEAT_TIMEOUT');
    expect(d.willReconnect).toBe(true);
    expect(sinceDrop).toBeGreaterThanOrEqual(HEARTBEAT.timeout - 20);
    expect(sinceLastPong).toBeLessThanOrEqual(DETECTION_LIMIT_MS);

    // While the rule stays, attempts time out (connectTimeout) and are retried.
    const { payload: r } = await recorded(events, 'reconnecting', 2000);
    expect(r.error.code).toBe('ERR_HEARTBEAT_TIMEOUT');
    expect(sock.state).not.toBe('open');

    env.iptables('-D', ...inRule);
    env.iptables('-D', ...outRule);
    const { payload: o } = await recorded(events, 'open', 10000, (p) => p.reconnected);
    expect(o.reconnected).toBe(true);
    expect(sock.state).toBe('open');
    // The new connection carries data end to end.
    await nextEvent(sock, 'heartbeat', 5000);
  });

  test('iptables REJECT tcp-reset: disconnect, fast-failing reconnects, then open again', async () => {
    const { sock, events } = openSocket();
    await nextEvent(sock, 'open', 5000);

    const rule = ['INPUT', '-p', 'tcp', '--dport', String(env.port), '-j', 'REJECT', '--reject-with', 'tcp-reset'];
    const rejectedAt = now();
    env.iptables('-I', ...rule);

    // The next packet the client sends (at the latest the heartbeat probe) is answered by a reset.
    const { payload: d, at: detectedAt } = await recorded(events, 'disconnect', 5000);
    console.log(`kernel REJECT tcp-reset: disconnect code ${d.code} (${d.error && d.error.code}) ` +
      `${Math.round(detectedAt - rejectedAt)} ms after the rule went in`);
    expect([1006, 4000]).toContain(d.code);
    expect(d.willReconnect).toBe(true);
    expect(detectedAt - rejectedAt).toBeLessThanOrEqual(DETECTION_LIMIT_MS);

    // Attempts are answered by a reset right away: refused, not timed out.
    const failFast = ['ERR_CONNECTION_REFUSED', 'ERR_CONNECTION_LOST'];
    const attempts = () => events.filter((e) => e.name === 'reconnecting' && e.at > detectedAt);
    await recorded(events, 'reconnecting', 5000, (p) => failFast.includes(p.error && p.error.code)
      && attempts().length >= 2);
    const seen = attempts().map((e) => e.payload.error && e.payload.error.code);
    console.log(`reconnecting errors while rejected: ${seen.join(', ')}`);
    // Every attempt after the first failed fast with a refusal/loss (the first carries the
    // cause of the disconnect).
    for (const code of seen.slice(1)) expect(failFast).toContain(code);
    expect(events.some((e) => e.name === 'open' && e.at > detectedAt)).toBe(false);

    env.iptables('-D', ...rule);
    const { payload: o } = await recorded(events, 'open', 10000, (p) => p.reconnected);
    expect(o.reconnected).toBe(true);
    expect(sock.state).toBe('open');
  });

  test('ss -K kills the client socket: disconnect, then reconnect', async () => {
    const { sock, events } = openSocket();
    const { at: openedAt } = await nextEvent(sock, 'open', 5000);

    const killed = run('ss', ['-K', 'dst', env.nsIp, 'dport', '=', String(env.port)]);
    if (!killed.ok) throw new Error(`ss -K failed: ${killed.out}`);
    const killedAt = now();

    const { payload: d, at: detectedAt } = await recorded(events, 'disconnect', 5000, () => true);
    console.log(`ss -K: disconnect code ${d.code} (${d.error && d.error.code}) ` +
      `${Math.round(detectedAt - killedAt)} ms after the kill`);
    expect(detectedAt).toBeGreaterThan(openedAt);
    expect([1006, 4000]).toContain(d.code);
    expect(d.willReconnect).toBe(true);
    const { payload: o } = await recorded(events, 'open', 10000, (p) => p.reconnected);
    expect(o.reconnected).toBe(true);
  });
});
