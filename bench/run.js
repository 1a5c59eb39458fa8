'use strict';

/**
 * resilient-ws benchmark: every measure side by side with `ws`, in one run,
 * reported as ratios. Absolute numbers on a shared machine are
 * noise; the ratio from one run is the result.
 *
 *   node bench/run.js                 full run (7 rounds per client, ~0.6 s per measurement)
 *   node bench/run.js --quick         3 rounds, ~0.5 s per measurement
 *   node bench/run.js --only=recv     comma-separated scenario ids, or prefixes of ids
 *                                     (ids: see --list)
 *   node bench/run.js --rounds=7      override the round count
 *   node bench/run.js --list          print the scenario ids and exit
 *   RESILIENT_WS_MODULE=<dir> node bench/run.js   measure another build of resilient-ws
 *
 * The far end is bench/frame-server.js in a child process. Both clients run in
 * this process, alternating ws, rws, ws, rws, … on a fresh connection per
 * measurement; each cell is the median over rounds. Pinned echo and idle run
 * their client in a child process of its own (pinned: `taskset -c 0` for client
 * and far end). resilient-ws runs on library defaults everywhere. Results go to
 * bench/results/latest.json (machine info and every raw sample) and
 * bench/results/latest.md (the table).
 */

const path = require('path');
const { spawnSync } = require('child_process');
const { deferred, startFrameServer, nodeCommand, runJsonChild } = require('./util');
const fs = require('fs');
const os = require('os');
const { performance } = require('perf_hooks');
const net = require('net');
const crypto = require('crypto');
const WebSocket = require('ws');

const RESULTS_DIR = path.join(__dirname, 'results');
const ECHO_WARMUP = 500;
const ECHO_SAMPLES = 5000;
/** The ws-style send loop sends while bufferedAmount is below this, else waits for it to drop. */
const SEND_HIGH_WATER = 1024 * 1024;
const OPEN_TIMEOUT_MS = 10000;
const CLOSE_TIMEOUT_MS = 5000;
/** A measurement that takes this many times longer than planned is declared hung. */
const HANG_FACTOR = 15;
const MIN_MEASUREMENT_TIMEOUT_MS = 15000;
const CEILING_SAMPLES = 3;
/** Cores' worth of CPU used by other processes beyond which the run is flagged unreliable. */
const OTHER_LOAD_LIMIT = 0.3;

// ---------------------------------------------------------------------------
// Command line

/**
 * @returns {{quick: boolean, only: string[]|null, rounds: number, targetSeconds: number, list: boolean}}
 */
function parseArgs(argv) {
  const opts = { quick: false, only: null, rounds: 0, targetSeconds: 0, list: false };
  for (const arg of argv) {
    if (arg === '--quick') opts.quick = true;
    else if (arg === '--list') opts.list = true;
    else if (arg.startsWith('--only=')) opts.only = arg.slice(7).split(',').map((s) => s.trim()).filter(Boolean);
    else if (arg.startsWith('--rounds=')) opts.rounds = positiveInt(arg.slice(9), '--rounds');
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write(
        'usage: node bench/run.js [--quick] [--only=<id>[,<id>…]] [--rounds=N] [--list]\n'
      );
      process.exit(0);
    } else {
      process.stderr.write(`unknown argument ${arg} (try --help)\n`);
      process.exit(2);
    }
  }
  // More, shorter rounds beat fewer, longer ones on a noisy machine: the
  // alternation then samples both clients across the same slow phases.
  if (!opts.rounds) opts.rounds = opts.quick ? 3 : 7;
  opts.targetSeconds = opts.quick ? 0.5 : 0.6;
  return opts;
}

function round2(x) {
  return Math.round(x * 100) / 100;
}

function positiveInt(raw, name) {
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) {
    process.stderr.write(`${name} must be a positive integer, got ${raw}\n`);
    process.exit(2);
  }
  return n;
}

// ---------------------------------------------------------------------------
// The client under test

/**
 * Load resilient-ws from the repo root. Anything short of a usable
 * `ResilientSocket` class means "not built yet": the bench still runs ws.
 * @returns {{ ResilientSocket: Function|null, error: string|null, version: string|null }}
 */
function loadResilientWs() {
  // RESILIENT_WS_MODULE points the bench at another build (e.g. a second worktree).
  const root = process.env.RESILIENT_WS_MODULE
    ? path.resolve(process.env.RESILIENT_WS_MODULE)
    : path.join(__dirname, '..');
  let version = null;
  try {
    version = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version;
  } catch {
    // version is informational only
  }
  try {
    const mod = require(root);
    if (typeof mod.ResilientSocket !== 'function') {
      return { ResilientSocket: null, error: 'module loaded but exports no ResilientSocket class', version };
    }
    return { ResilientSocket: mod.ResilientSocket, error: null, version };
  } catch (err) {
    return { ResilientSocket: null, error: firstLine(err && err.message), version };
  }
}

/** Whether `ws` found the native bufferutil (it loads it when installed; a devDependency here). */
function wsUsesBufferutil() {
  try {
    const wsDir = path.dirname(require.resolve('ws/package.json'));
    const entry = require.resolve('bufferutil', { paths: [wsDir] });
    // bufferutil falls back to plain JS when its native build does not load: that is not it.
    return require(entry) !== require(path.join(path.dirname(entry), 'fallback.js'));
  } catch {
    return false;
  }
}

function firstLine(s) {
  return String(s || 'unknown error').split('\n')[0];
}

// ---------------------------------------------------------------------------
// Frame server (child process)


// ---------------------------------------------------------------------------
// Small utilities

/**
 * A full GC between measurements, so no measurement pays for the garbage the
 * previous one (usually the other client's) left behind. `npm run bench` runs
 * plain `node`, so expose gc at run time instead of by a command-line flag.
 */
const fullGc = (() => {
  if (typeof global.gc === 'function') return global.gc;
  try {
    require('v8').setFlagsFromString('--expose-gc');
    return require('vm').runInNewContext('gc');
  } catch {
    return () => {};
  }
})();

/** Machine-wide CPU time so far (ms), busy and total, from os.cpus(). */
function machineCpu() {
  let busy = 0;
  let total = 0;
  for (const { times } of os.cpus()) {
    const b = times.user + times.nice + times.sys + times.irq;
    busy += b;
    total += b + times.idle;
  }
  return { busy, total };
}

/** CPU time (ms) used so far by another process of ours; null where /proc is missing. */
function processCpuMs(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of stat(5), in clock ticks (USER_HZ = 100 on Linux).
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return null;
  }
}

/**
 * CPU time (ms) of this process so far, every thread (the rws io thread too), plus every
 * child it has already reaped (pinned echo clients, idle clients, extra far ends), so the
 * bench's own children never count as "other processes".
 */
function ownCpuMs() {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime, stime, cutime, cstime: fields 14-17 of stat(5), in clock ticks (USER_HZ = 100).
    return ((Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 1000) / 100;
  } catch {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  }
}

/**
 * Cores' worth of CPU used by *other* processes over a window, given
 * snapshots at its start and end.
 */
function otherCores(before, after, wallMs, oursMs) {
  return Math.max(0, (after.busy - before.busy - oursMs) / wallMs);
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Reject with a clear message when `promise` takes longer than `ms`.
 * @template T
 * @param {Promise<T>} promise
 * @param {number} ms
 * @param {string} what
 * @returns {Promise<T>}
 */
function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}


function median(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/**
 * The failure of the measurement in progress, if any. Send promises from
 * resilient-ws are not given a per-call .catch() (ws.send in the same loop
 * gets no callback either, and a .catch per message would add cost to one
 * side only); a rejection surfaces here instead and fails the measurement.
 */
let currentAbort = null;
process.on('unhandledRejection', (err) => {
  if (currentAbort) currentAbort(err instanceof Error ? err : new Error(String(err)));
  else process.stderr.write(`bench: unhandled rejection outside a measurement: ${firstLine(err && err.message)}\n`);
});

// ---------------------------------------------------------------------------
// Clients: open and close, identical treatment for both

/**
 * @typedef {object} Conn
 * @property {'ws'|'rws'} kind
 * @property {any} sock      the WebSocket or ResilientSocket
 * @property {Promise<never>} failed  rejects when the connection errors or closes early
 */

/**
 * Open one connection and wait for 'open'.
 * @param {'ws'|'rws'} kind
 * @param {string} url
 * @param {object} ctx  { ResilientSocket }
 * @returns {Promise<Conn>}
 */
async function openConn(kind, url, ctx) {
  const failure = deferred();
  failure.promise.catch(() => {}); // observed through races below
  let sock;
  if (kind === 'ws') {
    // Same footing as resilient-ws: no compression; Buffers for binary.
    sock = new WebSocket(url, { perMessageDeflate: false });
    sock.binaryType = 'nodebuffer';
    sock.on('error', (err) => failure.reject(err));
    sock.on('close', (code) => failure.reject(new Error(`ws closed unexpectedly (code ${code})`)));
  } else {
    // Library defaults (heartbeat, reconnect, in-memory outbox), as a user would run it.
    sock = new ctx.ResilientSocket(url);
    sock.on('error', (err) => failure.reject(err));
    sock.on('failed', (ev) => failure.reject((ev && ev.error) || new Error('resilient-ws failed')));
    sock.on('close', (ev) =>
      failure.reject(new Error(`resilient-ws closed unexpectedly (code ${ev && ev.code})`))
    );
  }
  const opened = new Promise((resolve) => sock.once('open', resolve));
  try {
    await withTimeout(Promise.race([opened, failure.promise]), OPEN_TIMEOUT_MS, `${kind} open`);
  } catch (err) {
    hardClose({ kind, sock });
    throw err;
  }
  return { kind, sock, failed: failure.promise };
}

/**
 * Close cleanly (close handshake), bounded in time; tear down on timeout.
 * @param {Conn} conn
 */
async function closeConn(conn) {
  const { kind, sock } = conn;
  sock.removeAllListeners('message');
  sock.removeAllListeners('close');
  sock.removeAllListeners('error');
  sock.on('error', () => {});
  try {
    if (kind === 'ws') {
      if (sock.readyState === WebSocket.CLOSED) return;
      const closed = new Promise((resolve) => sock.once('close', resolve));
      sock.close(1000);
      await withTimeout(closed, CLOSE_TIMEOUT_MS, 'ws close');
    } else {
      await withTimeout(Promise.resolve(sock.close(1000)), CLOSE_TIMEOUT_MS, 'resilient-ws close');
    }
  } catch {
    hardClose(conn);
  }
}

/** Last resort after a failure or hang: drop the connection without waiting. */
function hardClose({ kind, sock }) {
  try {
    sock.on('error', () => {});
    if (kind === 'ws') sock.terminate();
    else Promise.resolve(sock.close(1000)).catch(() => {});
  } catch {
    // already gone
  }
}

/**
 * Run `body(conn)` on a fresh connection, racing it against connection
 * failure, a send rejection, and a hang timeout.
 * @template T
 * @param {'ws'|'rws'} kind
 * @param {string} url
 * @param {object} ctx
 * @param {number} timeoutMs
 * @param {(conn: Conn) => Promise<T>} body
 * @returns {Promise<T>}
 */
async function onFreshConn(kind, url, ctx, timeoutMs, body) {
  const conn = await openConn(kind, url, ctx);
  const abort = deferred();
  abort.promise.catch(() => {});
  currentAbort = abort.reject;
  let ok = false;
  try {
    const result = await withTimeout(
      Promise.race([body(conn), conn.failed, abort.promise]),
      timeoutMs,
      `${kind} measurement`
    );
    ok = true;
    return result;
  } finally {
    currentAbort = null;
    if (ok) await closeConn(conn);
    else hardClose(conn);
  }
}

// ---------------------------------------------------------------------------
// Scenarios

/**
 * Receive: the server streams `count` messages; a JS 'message' handler counts
 * them. Timed from sending the one-message start signal to the "__end__"
 * marker, so connection set-up is excluded and every message is included.
 * Text arrives in ws as a Buffer; the handler converts it with toString() so
 * both clients hand the application a string, as the API promises for rws.
 */
async function measureRecv(kind, ctx, p, count) {
  const url = `${ctx.base}/recv?size=${p.size}&type=${p.type}&count=${count}`;
  return onFreshConn(kind, url, ctx, ctx.hangTimeoutMs, async ({ sock }) => {
    const size = p.size;
    let received = 0;
    let wrongSize = 0;
    const end = deferred();
    if (kind === 'ws') {
      sock.on('message', (data, isBinary) => {
        if (isBinary) {
          if (data.length !== size) wrongSize++;
          received++;
          return;
        }
        const text = data.toString();
        if (text === '__end__') end.resolve(performance.now());
        else {
          if (text.length !== size) wrongSize++;
          received++;
        }
      });
    } else {
      sock.on('message', (data) => {
        if (typeof data !== 'string') {
          if (data.length !== size) wrongSize++;
          received++;
          return;
        }
        if (data === '__end__') end.resolve(performance.now());
        else {
          if (data.length !== size) wrongSize++;
          received++;
        }
      });
    }
    const t0 = performance.now();
    sock.send('start'); // rws: the promise is covered by the unhandled-rejection guard
    const t1 = await end.promise;
    if (received !== count) throw new Error(`${kind} received ${received} of ${count} messages`);
    if (wrongSize) throw new Error(`${kind} got ${wrongSize} messages of the wrong size`);
    const seconds = (t1 - t0) / 1000;
    return { rate: count / seconds, seconds, count };
  });
}

/**
 * Send, the way a `ws` user writes a bulk sender (and the way outside
 * benchmarks measure it): send while `bufferedAmount` is below 1 MiB, else
 * yield with setImmediate and look again. Done when the sink reports
 * "done:<count>", i.e. every message reached the far end. resilient-ws runs
 * on its defaults (in-memory outbox bounded at 10,000 messages / 16 MiB), so a
 * `bufferedAmount` that forgets bytes still in the outbox shows up here as
 * ERR_OUTBOX_FULL. Promises are not awaited per message; the last one is
 * awaited after "done", and any rejection fails the measurement.
 */
async function measureSend(kind, ctx, p, count) {
  const url = `${ctx.base}/sink?count=${count}`;
  return onFreshConn(kind, url, ctx, ctx.hangTimeoutMs, async ({ sock }) => {
    const payload = p.payload;
    const expected = `done:${count}`;
    const done = deferred();
    sock.on('message', (data) => {
      const text = typeof data === 'string' ? data : data.toString();
      if (text === expected) done.resolve(performance.now());
      else done.reject(new Error(`sink answered ${text.slice(0, 40)}, expected ${expected}`));
    });
    let last = null;
    let sent = 0;
    let waits = 0;
    let tLoop = 0;
    const loopDone = deferred();
    const pump = () => {
      try {
        while (sent < count) {
          if (sock.bufferedAmount >= SEND_HIGH_WATER) {
            waits++;
            setImmediate(pump);
            return;
          }
          if (kind === 'ws') sock.send(payload);
          else last = sock.send(payload);
          sent++;
        }
        tLoop = performance.now();
        loopDone.resolve();
      } catch (err) {
        loopDone.reject(err);
        done.reject(err);
      }
    };
    const t0 = performance.now();
    pump();
    const t1 = await done.promise;
    await loopDone.promise;
    if (last) await last;
    const seconds = (t1 - t0) / 1000;
    return { rate: count / seconds, seconds, count, loopSeconds: (tLoop - t0) / 1000, bufferedWaits: waits };
  });
}

/**
 * Echo round trip: one 64 B text message in flight at a time; the time from
 * send() to the echo's 'message' handler. ECHO_WARMUP round trips first
 * (not recorded), then ECHO_SAMPLES recorded ones.
 */
async function measureEcho(kind, ctx, p) {
  const url = `${ctx.base}/echo`;
  const total = ECHO_WARMUP + ECHO_SAMPLES;
  const timeout = Math.max(MIN_MEASUREMENT_TIMEOUT_MS, total * 5);
  return onFreshConn(kind, url, ctx, timeout, async ({ sock }) => {
    const payload = p.payload;
    const samples = new Float64Array(ECHO_SAMPLES);
    const done = deferred();
    let i = 0;
    let sentAt = 0;
    let last = null;
    // CPU of this whole process (JS thread, libuv, and resilient-ws's io thread) over the
    // recorded round trips; the far end is another process and is not counted.
    let cpuAtStart = null;
    let cpuUsed = null;
    const onEcho = (text) => {
      const now = performance.now();
      if (text !== payload) {
        done.reject(new Error(`${kind} echo payload mismatch`));
        return;
      }
      if (i >= ECHO_WARMUP) samples[i - ECHO_WARMUP] = (now - sentAt) * 1000; // µs
      i++;
      if (i === ECHO_WARMUP) cpuAtStart = process.cpuUsage();
      if (i === total) {
        cpuUsed = process.cpuUsage(cpuAtStart);
        done.resolve();
        return;
      }
      sentAt = performance.now();
      if (kind === 'ws') sock.send(payload);
      else last = sock.send(payload);
    };
    if (kind === 'ws') sock.on('message', (data, isBinary) => onEcho(isBinary ? null : data.toString()));
    else sock.on('message', (data) => onEcho(data));
    sentAt = performance.now();
    if (kind === 'ws') sock.send(payload);
    else last = sock.send(payload);
    await done.promise;
    if (last) await last;
    const sorted = Array.from(samples).sort((a, b) => a - b);
    return {
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      mean: sorted.reduce((s, x) => s + x, 0) / sorted.length,
      cpuUs: (cpuUsed.user + cpuUsed.system) / ECHO_SAMPLES,
      samplesUs: Array.from(samples, (x) => Math.round(x * 10) / 10),
    };
  });
}

// ---------------------------------------------------------------------------
// Far-end ceiling: the same scenario driven by a raw `net` client that does no
// WebSocket work at all — for recv it only counts bytes (reading into a 4 MiB
// buffer, where a normal Node socket reads 64 KiB at a time), for send it
// writes pre-built masked frames in 256 KiB blocks. It shows how fast the frame
// server and loopback can go on this machine; a client measured near this
// ceiling is limited by the far end and the shared CPUs, not by its own code.

const CEILING_READ_BUFFER = Buffer.alloc(4 * 1024 * 1024);

/**
 * Upgrade a raw TCP connection whose reads go to `onBytes(n)` afterwards.
 * @param {number} port
 * @param {string} target request path and query
 * @param {(n: number, buf: Buffer) => void} onBytes called per read after the 101 response
 * @returns {Promise<{socket: net.Socket, restLength: number}>}
 */
function rawUpgrade(port, target, onBytes) {
  return new Promise((resolve, reject) => {
    let head = Buffer.alloc(0);
    let upgraded = false;
    const socket = net.connect({
      port,
      host: '127.0.0.1',
      onread: {
        buffer: CEILING_READ_BUFFER,
        callback(n, buf) {
          if (upgraded) {
            onBytes(n, buf);
            return;
          }
          head = Buffer.concat([head, buf.subarray(0, n)]);
          const end = head.indexOf('\r\n\r\n');
          if (end < 0) return;
          upgraded = true;
          if (!head.subarray(0, 12).toString().includes('101')) reject(new Error('raw upgrade refused'));
          else resolve({ socket, rest: head.subarray(end + 4) });
        },
      },
    });
    socket.setNoDelay(true);
    socket.once('error', reject);
    socket.on('connect', () => {
      socket.write(
        `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`
      );
    });
  });
}

/** A masked client frame (FIN set) with a fixed mask key; fine for a ceiling. */
function maskedFrame(opcode, payload) {
  const len = payload.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const frame = Buffer.alloc(2 + ext + 4 + len);
  frame[0] = 0x80 | opcode;
  frame[1] = 0x80 | (ext === 0 ? len : ext === 2 ? 126 : 127);
  if (ext === 2) frame.writeUInt16BE(len, 2);
  if (ext === 8) frame.writeBigUInt64BE(BigInt(len), 2);
  const key = [0x11, 0x22, 0x33, 0x44];
  for (let i = 0; i < 4; i++) frame[2 + ext + i] = key[i];
  for (let i = 0; i < len; i++) frame[2 + ext + 4 + i] = payload[i] ^ key[i & 3];
  return frame;
}

function serverFrameLength(len) {
  return (len < 126 ? 2 : len < 65536 ? 4 : 10) + len;
}

/**
 * Far-end ceiling for one rate scenario and count, in msgs/s.
 * @returns {Promise<number>}
 */
async function measureCeiling(scenario, ctx, count) {
  const p = scenario.params;
  if (scenario.measure === measureRecv) {
    const expected = count * serverFrameLength(p.size) + serverFrameLength('__end__'.length);
    let got = 0;
    const done = deferred();
    const { socket, rest } = await rawUpgrade(
      ctx.port,
      `/recv?size=${p.size}&type=${p.type}&count=${count}`,
      (n) => {
        got += n;
        if (got >= expected) done.resolve(performance.now());
      }
    );
    got += rest.length;
    const t0 = performance.now();
    socket.write(maskedFrame(1, Buffer.from('start')));
    const t1 = await withTimeout(done.promise, ctx.hangTimeoutMs, 'ceiling');
    socket.destroy();
    return count / ((t1 - t0) / 1000);
  }
  const frame = maskedFrame(1, Buffer.from(p.payload));
  const perBlock = Math.max(1, Math.floor((256 * 1024) / frame.length));
  const block = Buffer.concat(new Array(perBlock).fill(frame));
  const done = deferred();
  const { socket } = await rawUpgrade(ctx.port, `/sink?count=${count}`, (n, buf) => {
    // The only thing the sink ever sends back is the short "done:N" frame.
    if (buf.subarray(0, n).includes('done:')) done.resolve(performance.now());
  });
  const t0 = performance.now();
  let left = count;
  const pump = () => {
    while (left > 0) {
      const n = Math.min(left, perBlock);
      left -= n;
      if (!socket.write(n === perBlock ? block : block.subarray(0, n * frame.length))) {
        socket.once('drain', pump);
        return;
      }
    }
  };
  pump();
  const t1 = await withTimeout(done.promise, ctx.hangTimeoutMs, 'ceiling');
  socket.destroy();
  return count / ((t1 - t0) / 1000);
}

// ---------------------------------------------------------------------------
// Scenarios whose client runs in a child process of its own

/** The CPU both client and far end are pinned to in the pinned scenarios. */
const PIN_CPU = 0;
/** Idle scenario: connections per client process, and fd limit for it and its far end. */
const IDLE_CONNECTIONS = 5000;
const IDLE_FD_LIMIT = 20000;

/** Whether `taskset -c 0` works here (util-linux present, CPU 0 allowed). */
function tasksetWorks() {
  const r = spawnSync('taskset', ['-c', String(PIN_CPU), 'true'], { stdio: 'ignore' });
  return r.status === 0;
}

/**
 * A far end started on first use and stopped when its scenario ends (so its CPU time is
 * reaped, and counted as ours, before the busy check).
 */
async function extraServer(ctx, name, how) {
  if (!ctx.extraServers[name]) {
    const started = startFrameServer(how);
    ctx.extraServers[name] = started;
    const { child } = await started;
    child.removeAllListeners('exit');
    child.on('exit', () => {});
  }
  return ctx.extraServers[name];
}

async function stopExtraServers(ctx) {
  const all = Object.values(ctx.extraServers);
  ctx.extraServers = {};
  for (const started of all) {
    const { child } = await started.catch(() => ({ child: null }));
    if (!child || child.exitCode !== null || child.signalCode !== null) continue;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.stdin.end();
    child.kill();
    await withTimeout(exited, 5000, 'extra frame server exit').catch(() => child.kill('SIGKILL'));
  }
}

/**
 * Echo with client and far end both pinned to one CPU (`taskset -c 0`), as an outside
 * benchmark runs it: what the library's own CPU costs when nothing can run in parallel —
 * the io thread, the JS thread and the far end take turns on one core. The client is a
 * child process (`bench/run.js --worker`) that runs the same measureEcho, after one
 * unrecorded warm-up pass.
 */
async function measureEchoPinned(kind, ctx) {
  if (!ctx.canPin) throw new Error('taskset -c 0 does not work here (util-linux missing?): cannot pin');
  const { port } = await extraServer(ctx, 'pinned', { pinCpu: PIN_CPU });
  const input = JSON.stringify({ scenario: 'echo-64-text', kind, port });
  const { file, args } = nodeCommand([__filename, `--worker=${input}`], { pinCpu: PIN_CPU });
  return runJsonChild(file, args, 2 * MIN_MEASUREMENT_TIMEOUT_MS, `pinned ${kind} echo client`);
}

/**
 * Idle: one client process per measurement opens IDLE_CONNECTIONS connections (library
 * defaults), and reports its RSS growth per connection (2 s after opening, and settled: once
 * V8 has shrunk the young generation the opening burst grew) and its CPU while idle, per 1,000
 * sockets (bench/idle-client.js). The far end is a frame server of its own that answers
 * pings.
 */
async function measureIdle(kind, ctx, p) {
  const { port } = await extraServer(ctx, 'idle', { fdLimit: IDLE_FD_LIMIT });
  const { file, args } = nodeCommand(
    ['--expose-gc', path.join(__dirname, 'idle-client.js'), kind, `ws://127.0.0.1:${port}/idle`, String(p.connections), String(ctx.idleWindowMs)],
    { fdLimit: IDLE_FD_LIMIT }
  );
  // Opening takes well under a minute; settling up to one more (bench/idle-client.js).
  const r = await runJsonChild(file, args, 180000 + ctx.idleWindowMs, `${kind} idle client`);
  // A reading that never settled is not a settled reading: the round fails rather than
  // putting it in the settled row.
  if (!r.settled) throw new Error(`${kind} idle client: RSS did not settle within ${r.settledAfterMs} ms (young generation shrunk: ${r.youngShrunk})`);
  return { ...r, rssKiB: r.rssPerConnection / 1024, settledRssKiB: r.settledRssPerConnection / 1024 };
}

/**
 * `node bench/run.js --worker=<json>`: the client process of a scenario that must not run in
 * the harness (pinned echo). Runs the scenario once as a warm-up, then once measured, and
 * prints the result as one JSON line.
 */
async function workerMain(raw) {
  const input = JSON.parse(raw);
  const scenario = SCENARIOS.find((s) => s.id === input.scenario);
  if (!scenario) throw new Error(`unknown scenario ${input.scenario}`);
  const rws = loadResilientWs();
  if (input.kind === 'rws' && !rws.ResilientSocket) throw new Error(`resilient-ws not loadable: ${rws.error}`);
  const ctx = {
    base: `ws://127.0.0.1:${input.port}`,
    port: input.port,
    ResilientSocket: rws.ResilientSocket,
    hangTimeoutMs: MIN_MEASUREMENT_TIMEOUT_MS,
  };
  await scenario.measure(input.kind, ctx, scenario.params, input.count);
  fullGc();
  const result = await scenario.measure(input.kind, ctx, scenario.params, input.count);
  delete result.samplesUs; // the harness keeps summaries of child runs only
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

const TEXT_64 = 'x'.repeat(64);
const BIN_1K = Buffer.alloc(1024, 0x5a);
const BIN_64K = Buffer.alloc(64 * 1024, 0xa5);

const CPU_ROW = { metric: 'cpuUs', label: 'client CPU per round trip (all threads)', unit: 'µs', better: 'lower', target: null };

/**
 * Every scenario and the rows it contributes to the table. `warmupCount`
 * also serves as the calibration run that sizes the measured count.
 * A row's `target` is a ratio rws/ws; `absolute` instead bounds rws's own value.
 */
const SCENARIOS = [
  {
    id: 'recv-64-text',
    kind: 'rate',
    params: { size: 64, type: 'text' },
    warmupCount: 30000,
    maxCount: 5_000_000,
    measure: measureRecv,
    rows: [{ metric: 'rate', label: 'receive 64 B text', unit: 'msgs/s', better: 'higher', target: 1.3 }],
  },
  {
    id: 'recv-1k-bin',
    kind: 'rate',
    params: { size: 1024, type: 'binary' },
    warmupCount: 20000,
    maxCount: 3_000_000,
    measure: measureRecv,
    rows: [{ metric: 'rate', label: 'receive 1 KiB binary', unit: 'msgs/s', better: 'higher', target: 1.0 }],
  },
  {
    id: 'recv-64k-bin',
    kind: 'rate',
    params: { size: 65536, type: 'binary' },
    warmupCount: 1500,
    maxCount: 100_000,
    measure: measureRecv,
    rows: [{ metric: 'rate', label: 'receive 64 KiB binary', unit: 'msgs/s', better: 'higher', target: 1.0 }],
  },
  {
    id: 'send-64-text',
    kind: 'rate',
    params: { size: 64, payload: TEXT_64 },
    warmupCount: 20000,
    maxCount: 3_000_000,
    measure: measureSend,
    rows: [{ metric: 'rate', label: 'send 64 B text (bufferedAmount loop)', unit: 'msgs/s', better: 'higher', target: 2.0 }],
  },
  {
    id: 'send-1k-bin',
    kind: 'rate',
    params: { size: 1024, payload: BIN_1K },
    warmupCount: 10000,
    maxCount: 1_000_000,
    measure: measureSend,
    rows: [{ metric: 'rate', label: 'send 1 KiB binary (bufferedAmount loop)', unit: 'msgs/s', better: 'higher', target: 2.0 }],
  },
  {
    id: 'send-64k-bin',
    kind: 'rate',
    params: { size: 64 * 1024, payload: BIN_64K },
    warmupCount: 1000,
    maxCount: 60_000,
    measure: measureSend,
    rows: [{ metric: 'rate', label: 'send 64 KiB binary (bufferedAmount loop)', unit: 'msgs/s', better: 'higher', target: 1.0 }],
  },
  {
    id: 'echo-64-text',
    kind: 'latency',
    params: { size: 64, payload: TEXT_64 },
    measure: measureEcho,
    rows: [
      { metric: 'p50', label: 'echo round trip 64 B, default scheduling, p50', unit: 'µs', better: 'lower', target: 1.2 },
      { metric: 'p99', label: 'echo round trip 64 B, default scheduling, p99', unit: 'µs', better: 'lower', target: 1.0 },
      { ...CPU_ROW, label: 'client CPU per round trip, default scheduling (all threads)' },
    ],
  },
  {
    id: 'echo-64-text-pinned',
    kind: 'latency',
    params: { size: 64, payload: TEXT_64 },
    measure: measureEchoPinned,
    rows: [
      { metric: 'p50', label: 'echo round trip 64 B, client and far end on one CPU (taskset), p50', unit: 'µs', better: 'lower', target: 1.2 },
      { metric: 'p99', label: 'echo round trip 64 B, client and far end on one CPU (taskset), p99', unit: 'µs', better: 'lower', target: 1.0 },
      { ...CPU_ROW, label: 'client CPU per round trip, pinned (all threads)' },
    ],
  },
  {
    id: 'idle-5000',
    kind: 'once',
    rounds: 3,
    params: { connections: IDLE_CONNECTIONS },
    measure: measureIdle,
    rows: [
      { metric: 'settledRssKiB', label: 'client RSS per idle connection at 5,000, settled (client in its own process; after V8 shrank its young generation)', unit: 'KiB', better: 'lower', target: 0.5 },
      { metric: 'rssKiB', label: 'client RSS per idle connection at 5,000, 2 s after opening (young generation still grown by the opening burst)', unit: 'KiB', better: 'lower', target: 0.5 },
      { metric: 'cpuPercentPer1000', label: 'client CPU while idle, per 1,000 open sockets', unit: '% of a core', better: 'lower', target: null, absolute: 0.2 },
    ],
  },
];

// ---------------------------------------------------------------------------
// Driver

/**
 * One measurement of one client; errors are recorded, not thrown.
 * @returns {Promise<{ok: true, result: object}|{ok: false, error: string}>}
 */
async function attempt(kind, scenario, ctx, count) {
  try {
    const result = await scenario.measure(kind, ctx, scenario.params, count);
    return { ok: true, result };
  } catch (err) {
    return { ok: false, error: firstLine(err && err.message) };
  } finally {
    await sleep(20); // let the far end finish tearing down the last connection
    fullGc();
  }
}

/**
 * Run one scenario: warm-up/calibration per client, then alternating rounds.
 */
async function runScenario(scenario, ctx, opts, log) {
  const kinds = ctx.ResilientSocket ? ['ws', 'rws'] : ['ws'];
  const record = { id: scenario.id, params: scenarioParamsForJson(scenario), kinds, warmup: {}, rounds: {}, errors: {} };
  for (const k of kinds) {
    record.rounds[k] = [];
    record.errors[k] = [];
  }

  // Warm-up (JIT, connection paths) doubling as calibration for rate scenarios:
  // a short pass at a fixed count gets the code hot, then a pass sized to about
  // half a measurement gives a rate the measured count can be based on (the
  // first pass alone underestimates the rate 2-3× while the JIT is still cold).
  const warmRates = {};
  for (const k of kinds) {
    record.warmup[k] = [];
    if (scenario.kind === 'once') continue; // each measurement is a fresh process; nothing to warm
    let passCount = scenario.warmupCount || 0;
    for (let pass = 0; pass < (scenario.kind === 'rate' ? 2 : 1); pass++) {
      const r = await attempt(k, scenario, ctx, passCount);
      record.warmup[k].push(r.ok ? summarize(r.result) : { error: r.error });
      if (!r.ok) {
        record.errors[k].push(`warm-up: ${r.error}`);
        log(`  ${scenario.id} ${k} warm-up failed: ${r.error}`);
        break;
      }
      if (scenario.kind === 'rate') {
        warmRates[k] = r.result.rate;
        passCount = Math.round(
          Math.min(scenario.maxCount, Math.max(scenario.warmupCount, (r.result.rate * opts.targetSeconds) / 2))
        );
      }
    }
  }

  if (scenario.kind === 'rate') {
    if (!warmRates.ws) {
      log(`  ${scenario.id}: ws warm-up failed; skipping scenario`);
      record.skipped = 'ws warm-up failed';
      return record;
    }
    // Each client gets a count sized to its own warm rate, so each measurement
    // takes ~targetSeconds: with one shared count, a client 5× faster than the
    // other would be timed over a few tens of milliseconds, where one
    // scheduler hiccup decides the result. Rates from different counts compare
    // fine once both are well past start-up.
    record.counts = {};
    for (const k of kinds) {
      const rate = warmRates[k] || warmRates.ws;
      record.counts[k] = Math.round(
        Math.min(scenario.maxCount, Math.max(scenario.warmupCount, rate * opts.targetSeconds))
      );
    }
  } else if (scenario.kind === 'latency') {
    record.counts = Object.fromEntries(kinds.map((k) => [k, ECHO_SAMPLES]));
    record.warmupRoundTrips = ECHO_WARMUP;
  } else {
    record.counts = Object.fromEntries(kinds.map((k) => [k, scenario.params.connections]));
  }

  if (scenario.kind === 'rate') {
    // Best of three: a ceiling is what the far end *can* do; noise only lowers it.
    // Several times the clients' count, so the ceiling run is not over before
    // the socket buffers have filled.
    const ceilingCount = Math.min(scenario.maxCount, 4 * Math.max(...Object.values(record.counts)));
    record.farEndCeilingCount = ceilingCount;
    record.farEndCeilingSamples = [];
    for (let i = 0; i < CEILING_SAMPLES; i++) {
      try {
        record.farEndCeilingSamples.push(await measureCeiling(scenario, ctx, ceilingCount));
      } catch (err) {
        log(`  ${scenario.id}: far-end ceiling sample failed: ${firstLine(err && err.message)}`);
      }
      await sleep(20);
    }
    record.farEndCeiling = record.farEndCeilingSamples.length ? Math.max(...record.farEndCeilingSamples) : null;
  }

  const rounds = scenario.rounds ? Math.min(scenario.rounds, opts.rounds) : opts.rounds;
  for (let round = 0; round < rounds; round++) {
    for (const k of kinds) {
      if (record.errors[k].length >= 2) continue; // broken twice: stop spending time on it
      const r = await attempt(k, scenario, ctx, record.counts[k]);
      if (r.ok) record.rounds[k].push(r.result);
      else {
        record.errors[k].push(`round ${round + 1}: ${r.error}`);
        log(`  ${scenario.id} ${k} round ${round + 1} failed: ${r.error}`);
      }
    }
  }

  record.medians = {};
  for (const k of kinds) {
    record.medians[k] = {};
    for (const row of scenario.rows) {
      record.medians[k][row.metric] = median(record.rounds[k].map((x) => x[row.metric]));
    }
  }
  log(
    `  ${scenario.id}: ${describeMedians(scenario, record)}` +
      (record.farEndCeiling ? `; far-end ceiling ${fmtValue(record.farEndCeiling, 'msgs/s')}` : '')
  );
  return record;
}

function scenarioParamsForJson(scenario) {
  const { payload, ...rest } = scenario.params;
  return payload ? { ...rest, payloadBytes: Buffer.byteLength(payload) } : rest;
}

function summarize(result) {
  const { samplesUs, ...rest } = result;
  return rest;
}

function describeMedians(scenario, record) {
  return scenario.rows
    .map((row) => {
      const parts = record.kinds.map((k) => `${k} ${fmtValue(record.medians[k][row.metric], row.unit)}`);
      return `${row.metric}: ${parts.join(', ')}`;
    })
    .join('; ');
}

// ---------------------------------------------------------------------------
// Formatting

function fmtValue(v, unit) {
  if (!Number.isFinite(v)) return '–';
  if (unit === 'µs') return `${v.toFixed(1)} µs`;
  if (unit === 'KiB') return `${v.toFixed(1)} KiB`;
  if (unit === '% of a core') return `${v.toFixed(3)} %`;
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)}M/s`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)}k/s`;
  return `${v.toFixed(0)}/s`;
}

/** "median [min–max]" of one client's rounds for one metric. */
function fmtCell(record, kind, row) {
  if (!record.rounds || !record.rounds[kind]) return 'not built';
  const values = record.rounds[kind].map((x) => x[row.metric]).filter(Number.isFinite);
  if (values.length === 0) return record.errors[kind].length ? 'error' : '–';
  const med = median(values);
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const range = values.length > 1 ? ` [${fmtValue(lo, row.unit).replace(/( µs| KiB| %|\/s)$/, '')}–${fmtValue(hi, row.unit)}]` : '';
  const failed = record.errors[kind].length ? ` (${record.errors[kind].length} failed)` : '';
  return `${fmtValue(med, row.unit)}${range}${failed}`;
}

function ratioOf(record, row) {
  if (!record.medians || !record.medians.rws) return NaN;
  return record.medians.rws[row.metric] / record.medians.ws[row.metric];
}

function targetText(row) {
  if (row.absolute !== undefined) return `≤ ${row.absolute} ${row.unit} (resilient-ws)`;
  if (row.target === null) return '—';
  return row.better === 'higher' ? `≥ ${row.target}× ws` : `≤ ${row.target}× ws`;
}

/** true/false against the performance targets, null when there is nothing to judge. */
function meets(row, ratio, record) {
  if (row.absolute !== undefined) {
    const v = record.medians && record.medians.rws && record.medians.rws[row.metric];
    return Number.isFinite(v) ? v <= row.absolute : null;
  }
  if (row.target === null || !Number.isFinite(ratio)) return null;
  return row.better === 'higher' ? ratio >= row.target : ratio <= row.target;
}

/**
 * The markdown table: one row per metric.
 * @returns {string}
 */
function renderTable(records) {
  const lines = [
    '| measure | ws | resilient-ws | ratio rws/ws | target |',
    '|---|---|---|---|---|',
  ];
  for (const record of records) {
    const scenario = SCENARIOS.find((s) => s.id === record.id);
    for (const row of scenario.rows) {
      const ratio = ratioOf(record, row);
      const ok = meets(row, ratio, record);
      // A row judged on its own value (idle CPU) gets no ratio: `ws` may idle at ~0.
      const ratioText =
        row.absolute === undefined && Number.isFinite(ratio)
          ? `${ratio.toFixed(2)}× (${row.better} is better)`
          : `– (${row.better} is better)`;
      const status = ok === null ? '' : ok ? ' — met' : ' — **missed**';
      const label = `${row.label}${row.unit === 'msgs/s' ? ', msgs/s' : ''}`;
      lines.push(
        `| ${label} | ${fmtCell(record, 'ws', row)} | ${record.kinds.includes('rws') ? fmtCell(record, 'rws', row) : 'not built'} | ${ratioText} | ${targetText(row)}${status} |`
      );
    }
  }
  const ceilings = [];
  const capped = [];
  for (const record of records) {
    if (!record.farEndCeiling) continue;
    const scenario = SCENARIOS.find((s) => s.id === record.id);
    ceilings.push(`${scenario.rows[0].label} ${fmtValue(record.farEndCeiling, 'msgs/s')}`);
    for (const kind of record.kinds) {
      const med = record.medians && record.medians[kind] && record.medians[kind].rate;
      if (med > 0.6 * record.farEndCeiling) {
        capped.push(`${scenario.rows[0].label}: ${kind === 'rws' ? 'resilient-ws' : kind} ran at ${Math.round((100 * med) / record.farEndCeiling)}% of it`);
      }
    }
  }
  if (ceilings.length) {
    lines.push('', `Far-end ceiling (raw \`net\` client doing no WebSocket work, best of ${CEILING_SAMPLES}): ${ceilings.join(' · ')}`);
    if (capped.length) lines.push(`Near the ceiling, so that ratio is capped by the far end and loopback: ${capped.join('; ')}`);
  }

  const errors = [];
  for (const record of records) {
    if (record.skipped) errors.push(`- ${record.id}: skipped (${record.skipped})`);
    for (const [kind, list] of Object.entries(record.errors)) {
      for (const e of list) errors.push(`- ${record.id} ${kind === 'rws' ? 'resilient-ws' : kind}, ${e}`);
    }
  }
  if (errors.length) lines.push('', 'Failed measurements (not counted in the medians):', ...errors);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------
// Main

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.list) {
    for (const s of SCENARIOS) process.stdout.write(`${s.id}\n`);
    return 0;
  }
  // Each --only entry names one scenario exactly, or else every id it prefixes.
  const matches = (o) => {
    const exact = SCENARIOS.filter((s) => s.id === o);
    return exact.length ? exact : SCENARIOS.filter((s) => s.id.startsWith(o));
  };
  const wanted = opts.only ? new Set(opts.only.flatMap(matches)) : null;
  const selected = SCENARIOS.filter((s) => !wanted || wanted.has(s));
  if (selected.length === 0) {
    process.stderr.write(`--only=${opts.only.join(',')} matches no scenario; ids: ${SCENARIOS.map((s) => s.id).join(', ')}\n`);
    return 2;
  }

  const log = (line) => process.stdout.write(`${line}\n`);
  const rws = loadResilientWs();
  if (!rws.ResilientSocket) {
    log('resilient-ws addon not built; measuring ws only');
    log(`  (loading it failed: ${rws.error})`);
  }

  // How busy is the machine before we add any load of our own?
  const idleProbe = { cpu: machineCpu(), own: ownCpuMs(), at: performance.now() };
  await sleep(500);
  const otherBefore = otherCores(idleProbe.cpu, machineCpu(), performance.now() - idleProbe.at, ownCpuMs() - idleProbe.own);

  const { port, child } = await startFrameServer();
  child.removeAllListeners('exit');
  child.on('exit', (code, signal) => {
    if (!shuttingDown) {
      process.stderr.write(`bench: frame server died (code ${code}, signal ${signal})\n`);
      process.exit(1);
    }
  });

  const started = new Date();
  const startedAt = performance.now();
  const loadBefore = os.loadavg();
  const runProbe = { cpu: machineCpu(), own: ownCpuMs(), server: processCpuMs(child.pid) };
  log(
    `bench: ${opts.quick ? 'quick' : 'full'} run, ${opts.rounds} rounds per client, ~${opts.targetSeconds} s per measurement; ` +
      `frame server on 127.0.0.1:${port} (pid ${child.pid})`
  );

  const ctx = {
    base: `ws://127.0.0.1:${port}`,
    port,
    ResilientSocket: rws.ResilientSocket,
    canPin: tasksetWorks(),
    extraServers: {},
    // Idle CPU window: long enough to include a default heartbeat (15 s without traffic → ping).
    idleWindowMs: opts.quick ? 6000 : 17000,
    // A measurement is planned to take ≤ 2 × targetSeconds; far beyond that it is hung.
    hangTimeoutMs: Math.max(MIN_MEASUREMENT_TIMEOUT_MS, opts.targetSeconds * 2000 * HANG_FACTOR),
  };

  const records = [];
  for (const scenario of selected) {
    log(`- ${scenario.id}`);
    records.push(await runScenario(scenario, ctx, opts, log));
    await stopExtraServers(ctx);
  }

  const serverCpu = processCpuMs(child.pid);
  const otherDuring =
    runProbe.server === null || serverCpu === null
      ? null
      : otherCores(
          runProbe.cpu,
          machineCpu(),
          performance.now() - startedAt,
          ownCpuMs() - runProbe.own + (serverCpu - runProbe.server)
        );

  shuttingDown = true;
  child.stdin.end();
  child.kill();

  const table = renderTable(records);
  const elapsed = (performance.now() - startedAt) / 1000;
  // CPU used by processes other than this one and its frame server. The load
  // average cannot tell that apart from our own two or three busy threads.
  const loadAfter = os.loadavg();
  const cores = os.cpus().length;
  const busy = otherBefore > OTHER_LOAD_LIMIT || (otherDuring !== null && otherDuring > OTHER_LOAD_LIMIT);
  const busyLine = busy
    ? `machine busy: other processes used ${otherBefore.toFixed(2)} cores before the run and ` +
      `${otherDuring === null ? '?' : otherDuring.toFixed(2)} on average during it (of ${cores}) — ` +
      'ratios from this run are unreliable; rerun when the machine is quiet'
    : null;
  const machine = {
    cpuModel: os.cpus()[0] ? os.cpus()[0].model : 'unknown',
    cpuCount: os.cpus().length,
    totalMemBytes: os.totalmem(),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    ws: require('ws/package.json').version,
    wsBufferutil: wsUsesBufferutil(),
    resilientWs: rws.version,
    loadavgBefore: loadBefore,
    loadavgAfter: loadAfter,
    otherProcessesCoresBefore: round2(otherBefore),
    otherProcessesCoresDuring: otherDuring === null ? null : round2(otherDuring),
    busy,
  };
  const report = {
    date: started.toISOString(),
    elapsedSeconds: Math.round(elapsed * 10) / 10,
    machine,
    options: { quick: opts.quick, only: opts.only, rounds: opts.rounds, targetSecondsPerMeasurement: opts.targetSeconds },
    resilientWs: { measured: Boolean(rws.ResilientSocket), loadError: rws.error },
    notes: [
      'Ratios are rws/ws from this one run; absolute numbers on a shared machine are noise.',
      'Each value is the median over rounds; rounds alternate ws, rws on a fresh connection each.',
    ],
    scenarios: records.map((r) => ({
      ...r,
      ratios: Object.fromEntries(
        SCENARIOS.find((s) => s.id === r.id).rows.map((row) => [row.metric, ratioOf(r, row)])
      ),
    })),
  };

  const header =
    `# resilient-ws vs ws — ${started.toISOString()}\n\n` +
    `${machine.cpuModel} ×${machine.cpuCount}, Node ${machine.node}, ws ${machine.ws} ` +
    `(${machine.wsBufferutil ? 'with' : 'without'} bufferutil), ` +
    `${opts.quick ? 'quick' : 'full'} run (${opts.rounds} rounds, median [min–max]), ${elapsed.toFixed(0)} s, ` +
    `other processes' CPU: ${otherBefore.toFixed(2)} cores before, ${otherDuring === null ? '?' : otherDuring.toFixed(2)} during` +
    (rws.ResilientSocket ? '' : `\n\n**resilient-ws addon not built; measuring ws only** (${rws.error})`) +
    (busyLine ? `\n\n**${busyLine}**` : '') +
    '\n\n';
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  fs.writeFileSync(path.join(RESULTS_DIR, 'latest.json'), `${JSON.stringify(report, null, 1)}\n`);
  fs.writeFileSync(path.join(RESULTS_DIR, 'latest.md'), `${header}${table}\n`);

  log('');
  log(table);
  log('');
  if (busyLine) log(`WARNING: ${busyLine}`);
  log(`bench: ${elapsed.toFixed(0)} s; wrote bench/results/latest.json and bench/results/latest.md`);

  const anyError = records.some((r) => r.skipped || Object.values(r.errors).some((e) => e.length));
  return anyError ? 1 : 0;
}

let shuttingDown = false;

const workerArg = process.argv.find((a) => a.startsWith('--worker='));
if (workerArg) {
  workerMain(workerArg.slice('--worker='.length)).then(
    () => process.exit(0),
    (err) => {
      process.stderr.write(`bench worker: ${firstLine(err && err.message)}\n`);
      process.exit(1);
    }
  );
} else main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`bench: ${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
  }
);
