'use strict';

// Through a real nginx reverse proxy (TESTING.md, nginx row): the upgrade passes, an idle
// upgraded connection is cut by proxy_read_timeout without a close frame (and heartbeats keep
// it alive), and nginx's own 503 + Retry-After / 401 answers are handled like a server's.

const { execFileSync } = require('child_process');
const { ResilientSocket } = require('../../lib');
const { startWsServer } = require('../helpers/servers');
const { withDeadline, waitFor, quietPeriod } = require('../helpers/deadline');
const { recordEvents, recorded, createScope } = require('../resilience/support');
const { NGINX, available, startNginx } = require('./support');

if (!available) console.log(`nginx tests skipped: ${NGINX} not found (apt-get install nginx)`);
const maybe = available ? describe : describe.skip;

// The temp directories of the nginx instances this file started: each one's command line names
// its directory, and another test run on the machine may have nginx instances of its own.
const startedDirs = [];

/** Command lines of the nginx processes started by this file that are still running. */
function ourNginxProcesses() {
  let lines;
  try {
    lines = execFileSync('pgrep', ['-a', '-f', 'rws-nginx-'], { encoding: 'utf8' }).trim().split('\n');
  } catch (err) {
    if (err.status === 1) return ''; // pgrep: nothing matched
    throw err;
  }
  return lines.filter((line) => startedDirs.some((dir) => line.includes(dir))).join('\n');
}

let scope;
beforeEach(() => {
  scope = createScope();
});
afterEach(() => scope.dispose());

const fastBackoff = { initialDelay: 50, maxDelay: 500 };

maybe('nginx reverse proxy', () => {
  afterAll(() => {
    expect(startedDirs.length).toBeGreaterThan(0);
    expect(ourNginxProcesses()).toBe('');
  });

  async function proxied(readTimeout) {
    const server = scope.add(await startWsServer(), (s) => s.close());
    const nginx = scope.add(await startNginx({ upstreamPort: server.port, readTimeout }), (n) => n.stop());
    startedDirs.push(nginx.dir);
    return { server, nginx };
  }

  test('the upgrade passes through nginx and text is echoed', async () => {
    const { server, nginx } = await proxied();
    const sock = scope.socket(new ResilientSocket(nginx.url('/'), { reconnect: fastBackoff }));
    const events = recordEvents(sock);
    const received = [];
    sock.on('message', (data) => received.push(data));
    await recorded(events, 'open', 5000);
    await withDeadline(sock.send('through nginx ✓'), 5000, 'send receipt');
    await waitFor(() => received.length === 1, 5000, 'the echo');
    expect(received[0]).toBe('through nginx ✓');
    expect(server.handshakes).toHaveLength(1);
    // It really went through nginx: the upstream saw nginx's proxied request.
    expect(server.handshakes[0].headers.upgrade).toBe('websocket');
    expect(server.handshakes[0].headers.connection).toMatch(/upgrade/i);
  });

  test('proxy_read_timeout 2s cuts an idle connection (1006, reconnects); heartbeats keep it open', async () => {
    const { server, nginx } = await proxied('2s');

    // heartbeat off: nginx drops the idle upgraded connection after ~2 s, no close frame.
    const idle = scope.socket(new ResilientSocket(nginx.url('/'), { reconnect: fastBackoff, heartbeat: false }));
    const idleEvents = recordEvents(idle);
    const { at: openedAt } = await recorded(idleEvents, 'open', 5000);
    const { payload: d, at: cutAt } = await recorded(idleEvents, 'disconnect', 6000);
    console.log(`nginx proxy_read_timeout 2s: idle connection cut after ${Math.round(cutAt - openedAt)} ms`);
    expect(d.code).toBe(1006);
    expect(d.willReconnect).toBe(true);
    expect(cutAt - openedAt).toBeGreaterThanOrEqual(1900);
    await waitFor(() => idleEvents.filter((e) => e.name === 'open').length === 2, 5000, 'a second open');
    await withDeadline(idle.close(), 5000, 'idle close()');

    // heartbeat on: the pings and pongs are traffic, so the same config never cuts it.
    const beating = scope.socket(new ResilientSocket(nginx.url('/'), {
      reconnect: fastBackoff,
      heartbeat: { interval: 500, timeout: 500 },
    }));
    const beatEvents = recordEvents(beating);
    await recorded(beatEvents, 'open', 5000);
    const before = server.connections.length;
    await quietPeriod(5000);
    expect(beatEvents.filter((e) => e.name === 'disconnect')).toEqual([]);
    expect(beatEvents.filter((e) => e.name === 'heartbeat').length).toBeGreaterThanOrEqual(3);
    expect(server.connections.length).toBe(before);
    expect(beating.state).toBe('open');
  }, 30000);

  test('nginx return 503 + Retry-After: 2 → reconnecting {503, 2000}, next attempt ≥ 2 s later', async () => {
    const { nginx } = await proxied();
    const sock = scope.socket(new ResilientSocket(nginx.url('/busy'), { reconnect: fastBackoff }));
    const events = recordEvents(sock);
    const { payload: r, at: rejectedAt } = await recorded(events, 'reconnecting', 5000);
    expect(r.status).toBe(503);
    expect(r.retryAfter).toBe(2000);
    expect(r.delay).toBeGreaterThanOrEqual(2000);
    const { at: secondAt } = await recorded(events, 'connecting', 5000, (c) => c.attempt === 2);
    // Timed where nginx answered, not where JavaScript saw the events: their delivery can lag by
    // milliseconds on a loaded machine, and by more for the first than for the second. The retry
    // timer starts after nginx answered the first request and ends before it answers the second,
    // so their gap is at least the delay (less the log's millisecond rounding).
    await waitFor(() => nginx.accessLog().filter((r) => r.uri === '/busy').length >= 2, 5000, 'two /busy requests in the access log');
    const [first, second] = nginx.accessLog().filter((r) => r.uri === '/busy');
    expect(first.status).toBe(503);
    console.log(`nginx 503 Retry-After: 2 → next attempt ${Math.round(second.at - first.at)} ms later at nginx (${Math.round(secondAt - rejectedAt)} ms between the events in JavaScript)`);
    expect(second.at - first.at).toBeGreaterThanOrEqual(2000 - 2);
  });

  test('nginx return 401 → failed with ERR_AUTH after exactly one attempt', async () => {
    const { server, nginx } = await proxied();
    const sock = scope.socket(new ResilientSocket(nginx.url('/auth'), { reconnect: fastBackoff }));
    const events = recordEvents(sock);
    const { payload: f } = await recorded(events, 'failed', 5000);
    expect(f.error.code).toBe('ERR_AUTH');
    expect(f.error.status).toBe(401);
    await quietPeriod(300); // no retry follows a terminal failure
    expect(events.filter((e) => e.name === 'connecting')).toHaveLength(1);
    expect(events.filter((e) => e.name === 'reconnecting')).toHaveLength(0);
    expect(server.handshakes).toHaveLength(0); // nginx answered itself
  });
});
