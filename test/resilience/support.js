'use strict';

// Shared pieces of the resilience suites: timestamped event recording, bounded waits on
// socket events with a predicate, a restartable ws server on a fixed port, and a cleanup scope
// so every server, proxy and socket a test starts is released even when an assertion fails.

const { fork } = require('child_process');
const http = require('http');
const path = require('path');
const { performance } = require('perf_hooks');
const { WebSocketServer } = require('ws');
const { withDeadline, waitFor } = require('../helpers/deadline');

const SOCKET_EVENTS = ['state', 'connecting', 'open', 'disconnect', 'reconnecting', 'heartbeat', 'failed', 'close'];

/** Milliseconds on a monotonic clock (performance.now), shared by every recorder here. */
const now = () => performance.now();

/**
 * Records every lifecycle event of `sock` with the time JavaScript saw it.
 *
 * @param {import('events').EventEmitter} sock
 * @returns {Array<{name: string, at: number, wall: number, payload: any}>} grows as events
 *   arrive; `at` is performance.now(), `wall` is Date.now() (to compare with other processes)
 */
function recordEvents(sock) {
  const events = [];
  for (const name of SOCKET_EVENTS) {
    sock.on(name, (payload) => events.push({ name, at: now(), wall: Date.now(), payload }));
  }
  return events;
}

/**
 * Waits for the next `name` event whose payload satisfies `where`, bounded by `ms`.
 * Rejects if the socket emits 'close' first (unless `name` is 'close'), naming what was awaited.
 *
 * @param {import('events').EventEmitter} sock
 * @param {string} name
 * @param {number} ms
 * @param {(payload: any) => boolean} [where]
 * @returns {Promise<{payload: any, at: number}>}
 */
function nextEvent(sock, name, ms, where = () => true) {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      sock.off(name, onEvent);
      if (name !== 'close') sock.off('close', onClose);
    };
    const onEvent = (payload) => {
      if (!where(payload)) return;
      cleanup();
      resolve({ payload, at: now() });
    };
    const onClose = (payload) => {
      cleanup();
      reject(new Error(`socket closed (${JSON.stringify(payload)}) while waiting for '${name}'`));
    };
    const timer = setTimeout(() => {
      cleanup();
      const err = new Error(`Timed out after ${ms} ms waiting for '${name}' (state ${sock.state})`);
      err.code = 'ETIMEDOUT_TEST';
      reject(err);
    }, ms);
    sock.on(name, onEvent);
    if (name !== 'close') sock.on('close', onClose);
  });
}

/**
 * The first recorded event (see recordEvents) named `name` that satisfies `where`, waiting up
 * to `ms` for it if it has not happened yet. Unlike nextEvent this cannot miss an event that
 * fired while the test was awaiting something else.
 *
 * @param {Array<{name: string, at: number, payload: any}>} events from recordEvents
 * @param {string} name
 * @param {number} ms
 * @param {(payload: any) => boolean} [where]
 * @returns {Promise<{name: string, at: number, payload: any}>}
 */
function recorded(events, name, ms, where = () => true) {
  return waitFor(() => events.find((e) => e.name === name && where(e.payload)), ms, `a '${name}' event`)
    .catch((err) => {
      err.message += ` (events so far: ${events.map((e) => e.name).join(', ') || 'none'})`;
      throw err;
    });
}

/**
 * A list of async release functions, run in reverse order by dispose() (for afterEach).
 */
function createScope() {
  const releases = [];
  return {
    /**
     * @template T
     * @param {T} thing returned as is
     * @param {(thing: T) => any} release
     * @returns {T}
     */
    add(thing, release) {
      releases.push(() => release(thing));
      return thing;
    },
    /** Closes a ResilientSocket at the end (bounded: a hung close fails the test). */
    socket(sock) {
      releases.push(() => withDeadline(sock.close(), 5000, 'socket close() in cleanup'));
      return sock;
    },
    async dispose() {
      const errors = [];
      while (releases.length) {
        try {
          await releases.pop()();
        } catch (err) {
          errors.push(err);
        }
      }
      if (errors.length) throw errors[0];
    },
  };
}

/**
 * A `ws` server that can be killed and restarted on the same port (the helpers in
 * test/helpers listen on port 0 every time). While stopped, the port refuses connections.
 *
 * @param {object} [opts]
 * @param {(ws: import('ws').WebSocket, req: http.IncomingMessage) => void} [opts.onConnection]
 * @returns {Promise<{port: number, url: string, connections: Array<{at: number}>, running: boolean,
 *   clientCount: () => number, stop: () => Promise<void>, start: () => Promise<void>}>}
 */
async function startRestartableServer(opts = {}) {
  let server = null;
  let wss = null;
  let sockets = new Set();
  let port = 0;
  const connections = [];

  const start = () => new Promise((resolve, reject) => {
    server = http.createServer((req, res) => {
      res.writeHead(426);
      res.end();
    });
    sockets = new Set();
    const mine = sockets;
    server.on('connection', (s) => {
      mine.add(s);
      s.on('close', () => mine.delete(s));
    });
    wss = new WebSocketServer({ server });
    wss.on('error', () => {});
    wss.on('connection', (ws, req) => {
      connections.push({ at: now() });
      ws.on('error', () => {});
      if (opts.onConnection) opts.onConnection(ws, req);
    });
    // A big backlog: hundreds of clients reconnect at once in the fleet tests.
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port, backlog: 2048 }, () => {
      server.off('error', reject);
      port = server.address().port;
      resolve();
    });
  });

  const stop = async () => {
    if (!server) return;
    const [s, w, socks] = [server, wss, sockets];
    server = null;
    wss = null;
    // Like a crashed process: stop listening first (an immediate retry must be refused, not
    // land on a half-closed server), then kill every client without a close frame.
    const closed = new Promise((resolve) => s.close(() => resolve()));
    for (const ws of w.clients) ws.terminate();
    for (const sock of socks) sock.destroy();
    await new Promise((resolve) => w.close(() => resolve()));
    await closed;
  };

  await start();
  return {
    get port() {
      return port;
    },
    get url() {
      return `ws://127.0.0.1:${port}/`;
    },
    get running() {
      return server !== null;
    },
    connections,
    clientCount: () => (wss ? wss.clients.size : 0),
    stop,
    start,
  };
}

/**
 * Largest number of timestamps within any window of `width` ms (windows ending at a timestamp
 * cover every maximum).
 *
 * @param {number[]} times
 * @param {number} width
 * @returns {{count: number, start: number}}
 */
function busiestWindow(times, width) {
  const sorted = [...times].sort((a, b) => a - b);
  let best = { count: 0, start: sorted[0] };
  let j = 0;
  for (let i = 0; i < sorted.length; i += 1) {
    // The window ending at sorted[i]: every time t with sorted[i] - width < t <= sorted[i].
    while (sorted[j] <= sorted[i] - width) j += 1;
    const count = i - j + 1;
    if (count > best.count) best = { count, start: sorted[j] };
  }
  return best;
}

/**
 * Forks a server from test/resilience/fixtures/ (so it keeps running while this process's JS
 * thread is blocked) and registers it in `scope` to be killed afterwards.
 * @returns {{child: import('child_process').ChildProcess, fromChild: (key: string) => Promise<any>}}
 *   fromChild(key): the value of the next IPC message that carries `key` (10 s deadline)
 */
function forkFixture(scope, name, args = []) {
  const child = fork(path.join(__dirname, 'fixtures', name), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  scope.add(child, (c) => {
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });
  const fromChild = (key) => withDeadline(new Promise((resolve) => {
    const onMessage = (m) => {
      if (m[key] === undefined) return;
      child.off('message', onMessage);
      resolve(m[key]);
    };
    child.on('message', onMessage);
  }), 10000, `the server process to send '${key}'`);
  return { child, fromChild };
}

module.exports = { forkFixture, now, recordEvents, recorded, nextEvent, createScope, startRestartableServer, busiestWindow, SOCKET_EVENTS };
