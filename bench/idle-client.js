'use strict';

/**
 * One client process of the idle scenario (bench/run.js `idle-5000`, bench/idle-memory.js):
 *
 *   node --expose-gc bench/idle-client.js <ws|rws> <url> <connections> <cpuWindowMs> [caFile]
 *
 * Opens `connections` connections in steps of 200 (library defaults for resilient-ws:
 * heartbeat, reconnect and the in-memory outbox all on; for a wss:// url, `caFile` is the CA to
 * trust: `ca` for ws, `tls.ca` for resilient-ws), lets them sit idle for 2 s, and prints one JSON
 * line:
 *   - ctorUs: mean time of the constructor (`new WebSocket` / `new ResilientSocket`), µs;
 *   - openCpuUs: CPU time of this whole process (every thread) from the first constructor until
 *     the last connection was open, per connection, µs;
 *   - rssPerConnection: RSS growth per connection (bytes), after a full GC, from before the
 *     first connection to 2 s after the last. This still holds V8's young generation as the
 *     burst of opening left it: V8 grows it while many objects survive its collections (to
 *     32 MiB with `ws` at 5,000 connections on the machine this was written on, 16 MiB with
 *     resilient-ws);
 *   - settledRssPerConnection: the same growth once V8's memory reducer has shrunk the young
 *     generation back (or it never grew) and RSS then held still, at least SETTLE_MIN_MS after
 *     the full GC, which an idle process reaches by itself some 10-30 s in. This is what the
 *     connections cost a service that keeps them, not the garbage of opening them.
 *     `settledAfterMs` is how long that took from the full GC; `settled` is false when it did
 *     not happen within SETTLE_LIMIT_MS (the number is then the last reading, and bench/run.js
 *     fails the round), `youngShrunk` says which part was missing;
 *   - cpuPercentPer1000: CPU time of this whole process (every thread) over `cpuWindowMs` of
 *     idleness, as % of one core, per 1,000 open connections (measured after the settling, so
 *     the memory reducer's own collections are not counted as idle cost);
 *   - cpuTotalMs: CPU this process used in all, so the harness can tell its own load from
 *     other people's.
 * The process must run with a raised fd limit (`ulimit -n`); the harness does that.
 */

const fs = require('fs');
const path = require('path');
const v8 = require('v8');

const [kind, url, countArg, windowArg, caFile] = process.argv.slice(2);
const count = Number(countArg);
const cpuWindowMs = Number(windowArg);
const STEP = 200;
const SETTLE_MS = 2000;
// V8's memory reducer starts ~8 s after a full GC that leaves the allocation rate low, and may
// take a few rounds: 10-30 s in. The limit leaves room for a slow machine.
const SETTLE_LIMIT_MS = 60000;
// Never settled before the reducer's first round could run: when the young generation never
// grew (few connections), "shrunk" holds at once, and RSS held still for a couple of seconds
// before the reducer gave back old-generation pages (resilient-ws at 1,000 connections read
// 7.5-8.5 KiB per connection 4 s in, 3.35 KiB 15 s in).
const SETTLE_MIN_MS = 15000;
const POLL_MS = 500;
// RSS counts as settled once the young generation shrank and RSS then stayed within this
// fraction for STABLE_POLLS readings in a row.
const STABLE_FRACTION = 0.002;
const STABLE_POLLS = 4;

const sockets = [];
let ctorNs = 0n;

function open(WebSocket, ResilientSocket, ca) {
  const start = process.hrtime.bigint();
  if (kind === 'ws') {
    const ws = new WebSocket(url, ca ? { perMessageDeflate: false, ca } : { perMessageDeflate: false });
    ctorNs += process.hrtime.bigint() - start;
    sockets.push(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
  }
  const s = ca ? new ResilientSocket(url, { tls: { ca } }) : new ResilientSocket(url);
  ctorNs += process.hrtime.bigint() - start;
  sockets.push(s);
  return new Promise((resolve, reject) => {
    s.once('open', resolve);
    s.once('failed', ({ error }) => reject(error));
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Committed bytes of V8's young generation (0 should V8 rename the space). */
function youngCommitted() {
  const space = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  return space ? space.space_size : 0;
}

/**
 * Waits for V8's memory reducer to shrink the young generation (below its size now, or back to
 * `youngBefore`, its size before the first open: at once if it never grew), then for RSS to hold
 * still.
 */
async function settledRss(youngBefore) {
  const start = performance.now();
  const grown = youngCommitted();
  const hasShrunk = () => {
    const young = youngCommitted();
    return young < grown || young <= youngBefore;
  };
  let shrunk = hasShrunk();
  let last = process.memoryUsage.rss();
  let stable = 0;
  while (performance.now() - start < SETTLE_LIMIT_MS) {
    await sleep(POLL_MS);
    const rss = process.memoryUsage.rss();
    if (!shrunk && hasShrunk()) {
      shrunk = true;
      stable = 0; // RSS holding still before the shrink says nothing about after it
    } else {
      stable = Math.abs(rss - last) <= last * STABLE_FRACTION ? stable + 1 : 0;
    }
    last = rss;
    if (shrunk && stable >= STABLE_POLLS && performance.now() - start >= SETTLE_MIN_MS) break;
  }
  return { rss: last, afterMs: Math.round(performance.now() - start), youngShrunk: shrunk, settled: shrunk && stable >= STABLE_POLLS };
}

async function main() {
  if (!['ws', 'rws'].includes(kind) || !url || !(count > 0) || !(cpuWindowMs > 0)) {
    throw new Error('usage: node --expose-gc bench/idle-client.js <ws|rws> <url> <connections> <cpuWindowMs> [caFile]');
  }
  if (typeof global.gc !== 'function') throw new Error('run with --expose-gc');
  // Load both libraries before the baseline, so neither's code counts as per-connection memory.
  const WebSocket = require('ws');
  const root = process.env.RESILIENT_WS_MODULE ? path.resolve(process.env.RESILIENT_WS_MODULE) : path.join(__dirname, '..');
  const { ResilientSocket } = kind === 'rws' ? require(root) : {};
  const ca = caFile ? fs.readFileSync(caFile, 'utf8') : undefined;
  global.gc();
  global.gc();
  const before = process.memoryUsage().rss;
  const youngBefore = youngCommitted();
  const openCpu0 = process.cpuUsage();
  for (let i = 0; i < count; i += STEP) {
    const step = [];
    for (let j = i; j < Math.min(count, i + STEP); j++) step.push(open(WebSocket, ResilientSocket, ca));
    await Promise.all(step);
  }
  const openCpu = process.cpuUsage(openCpu0);
  await sleep(SETTLE_MS);
  global.gc();
  global.gc();
  const after = process.memoryUsage().rss;
  const settled = await settledRss(youngBefore);

  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await sleep(cpuWindowMs);
  const cpu = process.cpuUsage(cpu0);
  const wallUs = Number(process.hrtime.bigint() - t0) / 1000;
  const cpuPercent = (100 * (cpu.user + cpu.system)) / wallUs;
  const total = process.cpuUsage();
  process.stdout.write(
    `${JSON.stringify({
      kind,
      count,
      ctorUs: Number(ctorNs) / 1000 / count,
      openCpuUs: (openCpu.user + openCpu.system) / count,
      rssBefore: before,
      rssAfter: after,
      rssPerConnection: (after - before) / count,
      rssSettled: settled.rss,
      settledRssPerConnection: (settled.rss - before) / count,
      settledAfterMs: settled.afterMs,
      youngShrunk: settled.youngShrunk,
      settled: settled.settled,
      cpuWindowMs: Math.round(wallUs / 1000),
      cpuPercent,
      cpuPercentPer1000: (cpuPercent * 1000) / count,
      cpuTotalMs: (total.user + total.system) / 1000,
    })}\n`
  );
  process.exit(0);
}

main().catch((err) => {
  process.stderr.write(`idle-client: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
