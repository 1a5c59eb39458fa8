'use strict';

// close() and reconnect() in every state, and the URL failover list (§5).

const path = require('path');
const { execFile } = require('child_process');
const { ResilientSocket } = require('../../lib');
const { startWsServer } = require('../helpers/servers');
const { startRawServer } = require('../helpers/raw-server');
const { quietPeriod } = require('../helpers/deadline');
const { refusedPort } = require('../helpers/ports');
const { now, recordEvents, recorded, createScope, startRestartableServer } = require('./support');

let scope;
beforeEach(() => {
  scope = createScope();
});
afterEach(() => scope.dispose());

const longBackoff = { initialDelay: 60000, maxDelay: 60000, jitter: 'none' };

describe('close() during backoff', () => {
  test('close() in reconnecting (60 s delay) closes at once, and the process exits right after', async () => {
    const port = await refusedPort();
    const started = now();
    const lines = await new Promise((resolve, reject) => {
      // If the socket left a timer or handle behind, the child would live for 60 s: the
      // 15 s limit turns that into a failure instead of a hang.
      execFile(process.execPath, [path.join(__dirname, 'fixtures', 'close-in-backoff.js'), String(port)],
        { timeout: 15000 }, (err, stdout, stderr) => {
          if (err) reject(new Error(`child failed or hung (${err.killed ? 'killed after 15 s' : err.message})\n${stdout}${stderr}`));
          else resolve(stdout.trim().split('\n').map((l) => JSON.parse(l)));
        });
    });
    const lifetime = now() - started;
    const step = (what) => lines.find((l) => l.what === what);
    console.log(`close() in backoff: 'close' after ${step('close').ms} ms, process exit ${step('exit').ms} ms after close() ` +
      `(child lived ${Math.round(lifetime)} ms)`);
    expect(step('reconnecting')).toMatchObject({ delay: 60000, state: 'reconnecting' });
    expect(step('close').payload.code).toBe(1000);
    expect(step('close').state).toBe('closed');
    expect(step('close').ms).toBeLessThan(500);
    expect(step('close-resolved').ms).toBeLessThan(500);
    expect(step('exit').ms).toBeLessThan(2000);
    expect(lines.map((l) => l.what)).toEqual(['reconnecting', 'close', 'close-resolved', 'exit']);
  });
});

describe('reconnect() in every state', () => {
  test('idle (autoConnect: false) → connects', async () => {
    const server = scope.add(await startWsServer(), (s) => s.close());
    const sock = scope.socket(new ResilientSocket(server.url, { autoConnect: false }));
    const events = recordEvents(sock);
    expect(sock.state).toBe('idle');
    sock.reconnect();
    const { payload: o } = await recorded(events, 'open', 5000);
    expect(o.attempt).toBe(1);
    expect(o.reconnected).toBe(false);
    expect(events.map((e) => e.name).filter((n) => n !== 'state')).toEqual(['connecting', 'open']);
  });

  test('connecting (upgrade pending) → abandons that attempt and starts a new one now', async () => {
    const server = scope.add(await startRawServer({
      onConnection: async (conn) => {
        if (conn.index === 1) {
          conn.neverAnswer();
          return;
        }
        await conn.acceptUpgrade();
        const close = await conn.waitForClose(60000).catch(() => null); // answer it: close() stays quick
        if (close) await conn.sendClose(close.code).then(() => conn.end(), () => {});
      },
    }), (s) => s.stop());
    const sock = scope.socket(new ResilientSocket(server.url, { connectTimeout: 30000 }));
    const events = recordEvents(sock);
    const first = await server.nextConnection(5000);
    expect(sock.state).toBe('connecting');
    const calledAt = now();
    sock.reconnect();
    const { payload: o, at } = await recorded(events, 'open', 5000);
    expect(o.attempt).toBe(2);
    expect(at - calledAt).toBeLessThan(2000); // not the 30 s connectTimeout
    await first.waitClosed(3000);
    const names = events.map((e) => e.name).filter((n) => n !== 'state');
    expect(names).toEqual(['connecting', 'connecting', 'open']);
  });

  test('open → disconnect (willReconnect), the server sees close 4001, and a new open', async () => {
    const server = scope.add(await startWsServer(), (s) => s.close());
    const sock = scope.socket(new ResilientSocket(server.url, {}));
    const events = recordEvents(sock);
    await recorded(events, 'open', 5000);
    const firstServerSide = await server.nextConnection(5000);
    const serverSawClose = new Promise((resolve) => firstServerSide.ws.once('close', (code) => resolve(code)));
    sock.reconnect();
    const { payload: d } = await recorded(events, 'disconnect', 5000);
    expect(d.willReconnect).toBe(true);
    const { payload: o } = await recorded(events, 'open', 5000, (p) => p.reconnected);
    expect(o.attempt).toBe(2);
    await server.nextConnection(5000);
    // The old connection ends with a close frame (4001), not a bare reset (1006).
    expect(await serverSawClose).toBe(4001);
    const names = events.map((e) => e.name).filter((n) => n !== 'state');
    expect(names).toEqual(['connecting', 'open', 'disconnect', 'connecting', 'open']);
  });

  test('reconnecting with a 60 s delay → connects now', async () => {
    const server = scope.add(await startRestartableServer(), (s) => s.stop());
    await server.stop();
    const sock = scope.socket(new ResilientSocket(server.url, { reconnect: longBackoff }));
    const events = recordEvents(sock);
    const { payload: r } = await recorded(events, 'reconnecting', 5000);
    expect(r.delay).toBe(60000);
    await server.start();
    const calledAt = now();
    sock.reconnect();
    const { at } = await recorded(events, 'open', 5000);
    expect(at - calledAt).toBeLessThan(2000);
  });

  test('closed and failed → no-op, no throw, no events', async () => {
    const server = scope.add(await startWsServer(), (s) => s.close());
    const sock = new ResilientSocket(server.url, {});
    const events = recordEvents(sock);
    await recorded(events, 'open', 5000);
    await sock.close();
    const count = events.length;
    expect(() => sock.reconnect()).not.toThrow();
    expect(() => sock.reconnect()).not.toThrow();
    await quietPeriod(200); // negative check: nothing may happen
    expect(events.length).toBe(count);
    expect(sock.state).toBe('closed');

    const failedSock = new ResilientSocket(`ws://127.0.0.1:${await refusedPort()}/`, { reconnect: false });
    const failedEvents = recordEvents(failedSock);
    await recorded(failedEvents, 'close', 5000);
    expect(failedSock.state).toBe('failed');
    const failedCount = failedEvents.length;
    expect(() => failedSock.reconnect()).not.toThrow();
    await quietPeriod(200);
    expect(failedEvents.length).toBe(failedCount);
  });
});

describe('URL failover list', () => {
  test('[refused, good] → the second attempt opens on the good URL; open.url says which', async () => {
    const server = scope.add(await startWsServer(), (s) => s.close());
    const badUrl = `ws://127.0.0.1:${await refusedPort()}/`;
    const sock = scope.socket(new ResilientSocket([badUrl, server.url], { reconnect: { initialDelay: 50, maxDelay: 500 } }));
    const events = recordEvents(sock);
    const { payload: o } = await recorded(events, 'open', 5000);
    const connecting = events.filter((e) => e.name === 'connecting').map((e) => e.payload);
    expect(connecting.map((c) => c.url)).toEqual([badUrl, server.url]);
    expect(connecting.map((c) => c.attempt)).toEqual([1, 2]);
    const r = events.find((e) => e.name === 'reconnecting').payload;
    expect(r.error.code).toBe('ERR_CONNECTION_REFUSED');
    expect(o.url).toBe(server.url);
    expect(o.attempt).toBe(2);
    expect(sock.url).toBe(server.url);

    // Every attempt moves on: when the good server drops us, the list is walked again.
    server.terminateAll();
    const { payload: again } = await recorded(events, 'open', 5000, (p) => p.reconnected);
    expect(again.url).toBe(server.url);
    const after = events.filter((e) => e.name === 'connecting').map((e) => e.payload.url).slice(2);
    expect(after).toEqual([badUrl, server.url]);
  });
});
