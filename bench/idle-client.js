'use strict';

/**
 * One client process of the idle scenario (bench/run.js `idle-5000`, bench/idle-memory.js):
 *
 *   node --expose-gc bench/idle-client.js <ws|rws> <url> <connections> <cpuWindowMs>
 *
 * Opens `connections` connections in steps of 200 (library defaults for resilient-ws:
 * heartbeat, reconnect and the in-memory outbox all on), lets them sit idle for 2 s, and
 * prints one JSON line:
 *   - rssPerConnection: RSS growth per connection (bytes), after a full GC, from before the
 *     first connection to after the last;
 *   - cpuPercentPer1000: CPU time of this whole process (every thread) over `cpuWindowMs` of
 *     idleness, as % of one core, per 1,000 open connections;
 *   - cpuTotalMs: CPU this process used in all, so the harness can tell its own load from
 *     other people's.
 * The process must run with a raised fd limit (`ulimit -n`); the harness does that.
 */

const path = require('path');

const [kind, url, countArg, windowArg] = process.argv.slice(2);
const count = Number(countArg);
const cpuWindowMs = Number(windowArg);
const STEP = 200;
const SETTLE_MS = 2000;

const sockets = [];

function open(WebSocket, ResilientSocket) {
  if (kind === 'ws') {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    sockets.push(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
  }
  const s = new ResilientSocket(url);
  sockets.push(s);
  return new Promise((resolve, reject) => {
    s.once('open', resolve);
    s.once('failed', ({ error }) => reject(error));
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  if (!['ws', 'rws'].includes(kind) || !url || !(count > 0) || !(cpuWindowMs > 0)) {
    throw new Error('usage: node --expose-gc bench/idle-client.js <ws|rws> <url> <connections> <cpuWindowMs>');
  }
  if (typeof global.gc !== 'function') throw new Error('run with --expose-gc');
  // Load both libraries before the baseline, so neither's code counts as per-connection memory.
  const WebSocket = require('ws');
  const root = process.env.RESILIENT_WS_MODULE ? path.resolve(process.env.RESILIENT_WS_MODULE) : path.join(__dirname, '..');
  const { ResilientSocket } = kind === 'rws' ? require(root) : {};
  global.gc();
  global.gc();
  const before = process.memoryUsage().rss;
  for (let i = 0; i < count; i += STEP) {
    const step = [];
    for (let j = i; j < Math.min(count, i + STEP); j++) step.push(open(WebSocket, ResilientSocket));
    await Promise.all(step);
  }
  await sleep(SETTLE_MS);
  global.gc();
  global.gc();
  const after = process.memoryUsage().rss;

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
      rssBefore: before,
      rssAfter: after,
      rssPerConnection: (after - before) / count,
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
