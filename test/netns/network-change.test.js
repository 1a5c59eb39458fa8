'use strict';

// Network changes: when the address an open connection uses goes
// away, the connection is probed at once and found dead within the heartbeat timeout — not
// after interval + timeout. A change elsewhere (a route to another network) does not probe.
// For comparison, a silent drop the kernel does not announce (iptables DROP) is found by the
// heartbeat alone, after interval + timeout. The server runs in a private network namespace
// reached over a veth pair; the client's address is the host end's.

const { ResilientSocket } = require('../../lib');
const { nextEvent, createScope } = require('../resilience/support');
const { createNetns, unavailableReason, run } = require('./support');

const HEARTBEAT = { interval: 4000, timeout: 400 };

const reason = unavailableReason();
if (reason) console.log(`test/netns network-change skipped: ${reason}`);
const describeNetns = reason ? describe.skip : describe;

describeNetns('network changes (rtnetlink)', () => {
  let env;
  let scope;
  beforeEach(async () => {
    env = await createNetns();
    scope = createScope();
  });
  afterEach(async () => {
    try {
      await scope.dispose();
    } finally {
      await env.teardown();
    }
  });

  async function openSocket() {
    const sock = scope.socket(new ResilientSocket(env.url, { heartbeat: HEARTBEAT, reconnect: false, connectTimeout: 2000 }));
    await nextEvent(sock, 'open', 5000);
    return sock;
  }

  test('the connection\'s address removed: dead within the heartbeat timeout, not interval + timeout', async () => {
    const sock = await openSocket();
    const disconnected = nextEvent(sock, 'disconnect', 10000);
    const removedAt = Date.now();
    run('ip', ['addr', 'del', `${env.hostIp}/30`, 'dev', env.hostIf]);
    const { payload } = await disconnected;
    const detectedMs = Date.now() - removedAt;
    console.log(`address removed → disconnect after ${detectedMs} ms (heartbeat ${HEARTBEAT.interval}/${HEARTBEAT.timeout} ms)`);
    expect(payload.code).toBe(4000);
    expect(payload.error.code).toBe('ERR_HEARTBEAT_TIMEOUT');
    expect(sock.stats().networkChanges).toBeGreaterThanOrEqual(1);
    expect(detectedMs).toBeGreaterThanOrEqual(HEARTBEAT.timeout - 50);
    expect(detectedMs).toBeLessThan(HEARTBEAT.interval); // without the probe: ≥ interval + timeout
  }, 20000);

  // Carrier lost (the far end of the veth goes down): the kernel announces only the link, not an
  // address or an IPv4 route, so this is found by matching the link to the connection's address
  // — also one with a label (keepalived's kind), which getifaddrs lists under the label's name.
  test.each([['', false], [' (its address has a label)', true]])('the connection\'s link loses its carrier%s: dead within the heartbeat timeout', async (label, labelled) => {
    if (labelled) {
      run('ip', ['addr', 'del', `${env.hostIp}/30`, 'dev', env.hostIf]);
      run('ip', ['addr', 'add', `${env.hostIp}/30`, 'dev', env.hostIf, 'label', `${env.hostIf}:v`]);
    }
    const sock = await openSocket();
    const disconnected = nextEvent(sock, 'disconnect', 10000);
    const downAt = Date.now();
    env.exec('ip', 'link', 'set', env.nsIf, 'down');
    const { payload } = await disconnected;
    const detectedMs = Date.now() - downAt;
    console.log(`carrier lost → disconnect after ${detectedMs} ms (heartbeat ${HEARTBEAT.interval}/${HEARTBEAT.timeout} ms)`);
    expect(payload.error.code).toBe('ERR_HEARTBEAT_TIMEOUT');
    expect(sock.stats().networkChanges).toBeGreaterThanOrEqual(1);
    expect(detectedMs).toBeLessThan(HEARTBEAT.interval); // without the probe: ≥ interval + timeout
  }, 20000);

  test('a route to another network changes: no probe, the connection carries on', async () => {
    const sock = await openSocket();
    run('ip', ['route', 'add', '10.250.0.0/16', 'via', env.nsIp]);
    run('ip', ['route', 'del', '10.250.0.0/16', 'via', env.nsIp]);
    const echoed = nextEvent(sock, 'message', 5000);
    await sock.send('still here');
    expect((await echoed).payload).toBe('still here');
    expect(sock.stats().networkChanges).toBe(0);
    expect(sock.state).toBe('open');
  }, 20000);

  test('for comparison, a silent drop nobody announces is found after interval + timeout', async () => {
    const sock = await openSocket();
    const disconnected = nextEvent(sock, 'disconnect', 15000);
    const droppedAt = Date.now();
    env.iptables('-I', 'INPUT', '-p', 'tcp', '--dport', String(env.port), '-j', 'DROP');
    await disconnected;
    const detectedMs = Date.now() - droppedAt;
    console.log(`silent drop (no netlink event) → disconnect after ${detectedMs} ms (heartbeat ${HEARTBEAT.interval}/${HEARTBEAT.timeout} ms)`);
    expect(sock.stats().networkChanges).toBe(0);
    expect(detectedMs).toBeGreaterThan(HEARTBEAT.interval - 1000);
  }, 25000);
});
