'use strict';

/**
 * resilient-ws resilience benchmark, separate from bench/run.js (throughput and latency).
 *
 *   node bench/resilience.js                  10 detection samples, 5 reconnect samples, 500 clients
 *   node bench/resilience.js --quick          3 detection samples, 2 reconnect samples, 200 clients
 *   node bench/resilience.js --clients=1000   fleet size for the histogram (the target names 1,000)
 *   RESILIENT_WS_MODULE=<dir> node bench/resilience.js   measure another build
 *
 * 1. Dead-peer detection: an open connection through a fault proxy is blackholed right after
 *    a server message arrives (that message is the last inbound byte); measured until
 *    'disconnect' (4000 / ERR_HEARTBEAT_TIMEOUT). Bound: interval + timeout (+10 % allowed).
 *    For contrast, one `ws` client without a heartbeat goes through the same blackhole.
 * 2. Time to reconnect: the server is killed, stays down, and comes back on the same port;
 *    measured from "listening again" to 'open'. Bound: the retry delay in force, at most
 *    reconnect.maxDelay, plus the connect itself.
 * 3. Reconnect histogram: N clients with stable connections, server killed, down ~1 s,
 *    restarted. Every client 'connecting' is bucketed per 100 ms; the first (immediate) retry
 *    of a stable connection is shown apart from the backed-off ones, and the busiest 250 ms
 *    window of each is reported (target: no window with > 25 %).
 *
 * Timing is read in this process (performance.now()) when JavaScript sees each event; the
 * server and proxy run here too. Writes bench/results/resilience.json (every sample) and
 * bench/results/resilience.md (the tables).
 */

const fs = require('fs');
const { once } = require('./util');
const os = require('os');
const path = require('path');
const { performance } = require('perf_hooks');
const WebSocket = require('ws');
const { startFaultProxy } = require('../test/helpers/fault-proxy');
// The restartable fixed-port server and the window helper are shared with test/resilience.
const { startRestartableServer, busiestWindow } = require('../test/resilience/support');

const root = process.env.RESILIENT_WS_MODULE ? path.resolve(process.env.RESILIENT_WS_MODULE) : path.join(__dirname, '..');
const { ResilientSocket } = require(root);

const RESULTS_DIR = path.join(__dirname, 'results');
const HEARTBEAT = { interval: 1000, timeout: 500 };
const RECONNECT = { initialDelay: 100, maxDelay: 1000, stableAfter: 500 };
const FLEET_RECONNECT = { initialDelay: 1000, maxDelay: 2000, stableAfter: 500 };
const FLEET_DOWN_MS = 1000;
const RECONNECT_DOWN_MS = 1500;
const WS_BASELINE_WAIT_MS = 5000;

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const clientsArg = args.find((a) => a.startsWith('--clients='));
const opts = {
  detectionSamples: quick ? 3 : 10,
  reconnectSamples: quick ? 2 : 5,
  clients: clientsArg ? Number(clientsArg.slice(10)) : quick ? 200 : 500,
};
if (!Number.isInteger(opts.clients) || opts.clients < 1 || opts.clients > 5000) {
  process.stderr.write('usage: node bench/resilience.js [--quick] [--clients=N (1-5000)]\n');
  process.exit(2);
}

const now = () => performance.now();
const round = (x, digits = 0) => Math.round(x * 10 ** digits) / 10 ** digits;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));


/** Polls `predicate` every 10 ms until true, or rejects after `ms`. */
async function until(predicate, ms, what) {
  const deadline = now() + ms;
  while (!predicate()) {
    if (now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

function stats(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { min: sorted[0], median: at(0.5), max: sorted[sorted.length - 1], mean: values.reduce((a, b) => a + b, 0) / values.length };
}

// ---------------------------------------------------------------------------
// 1. Dead-peer detection

async function measureDetection() {
  const serverSide = [];
  const server = await startRestartableServer({ onConnection: (ws) => serverSide.push(ws) });
  const proxy = await startFaultProxy({ target: { port: server.port } });
  const samples = [];
  try {
    for (let i = 0; i < opts.detectionSamples; i += 1) {
      await proxy.setMode('pass');
      const sock = new ResilientSocket(proxy.url(), { heartbeat: HEARTBEAT, reconnect: RECONNECT, connectTimeout: 2000 });
      await once(sock, 'open', 10000);
      const ws = serverSide[serverSide.length - 1];
      // The mark is the last byte the client will ever get on this connection.
      const marked = once(sock, 'message', 5000, (data) => data === 'mark').then(() => now());
      ws.send('mark');
      const lastInbound = await marked;
      await proxy.setMode('blackhole');
      const d = await once(sock, 'disconnect', 10000);
      const detection = now() - lastInbound;
      samples.push({ detectionMs: round(detection, 1), code: d.code, error: d.error && d.error.code });
      await sock.close();
    }
    // Contrast: a plain ws client (no heartbeat, as shipped) through the same blackhole.
    await proxy.setMode('pass');
    const plain = new WebSocket(proxy.url());
    plain.on('error', () => {});
    await once(plain, 'open', 10000);
    await proxy.setMode('blackhole');
    const started = now();
    const closed = await once(plain, 'close', WS_BASELINE_WAIT_MS).then(() => now() - started, () => null);
    plain.terminate();
    return { samples, wsBaseline: { detectedMs: closed, waitedMs: WS_BASELINE_WAIT_MS } };
  } finally {
    await proxy.stop();
    await server.stop();
  }
}

// ---------------------------------------------------------------------------
// 2. Time to reconnect after the server is back

async function measureReconnect() {
  const server = await startRestartableServer();
  const samples = [];
  const sock = new ResilientSocket(server.url, { heartbeat: HEARTBEAT, reconnect: RECONNECT });
  const retries = [];
  sock.on('reconnecting', (r) => retries.push({ at: now(), attempt: r.attempt, delay: r.delay }));
  try {
    await once(sock, 'open', 10000);
    for (let i = 0; i < opts.reconnectSamples; i += 1) {
      await until(() => sock.stats().attempt === 0, 10000, 'a stable connection');
      retries.length = 0;
      const disconnected = once(sock, 'disconnect', 5000);
      await server.stop();
      await disconnected;
      await sleep(RECONNECT_DOWN_MS); // the outage
      const reopened = once(sock, 'open', 10000);
      await server.start();
      const back = now();
      await reopened;
      const ms = now() - back;
      const pending = [...retries].reverse().find((r) => r.at <= back);
      samples.push({
        reconnectMs: round(ms, 1),
        retriesWhileDown: retries.filter((r) => r.at <= back).length,
        firstRetryDelay: retries.length ? retries[0].delay : null,
        delayInForceMs: pending ? pending.delay : null,
      });
    }
  } finally {
    await sock.close();
    await server.stop();
  }
  return { samples };
}

// ---------------------------------------------------------------------------
// 3. Reconnect histogram of a fleet

async function measureFleet() {
  const server = await startRestartableServer();
  const sockets = [];
  const attempts = [];
  const opened = new Set();
  let recording = false;
  try {
    for (let i = 0; i < opts.clients; i += 1) {
      const sock = new ResilientSocket(server.url, { reconnect: FLEET_RECONNECT, heartbeat: false });
      sock.on('connecting', ({ attempt }) => {
        if (recording) attempts.push({ at: now(), attempt });
      });
      sock.on('open', () => opened.add(i));
      sockets.push(sock);
    }
    await until(() => opened.size === opts.clients, 60000, `${opts.clients} clients open`);
    await until(() => sockets.every((s) => s.stats().attempt === 0), 20000, 'every connection stable');
    opened.clear();
    recording = true;
    const killedAt = now();
    const acceptedBefore = server.connections.length;
    await server.stop();
    await sleep(FLEET_DOWN_MS); // the outage
    const restartedAt = now();
    await server.start();
    await until(() => opened.size === opts.clients, 60000, `${opts.clients} clients reopened`);
    const allBackAt = now();
    const accepts = server.connections.slice(acceptedBefore).map((c) => c.at - killedAt);
    const immediate = attempts.filter((a) => a.attempt === 1).map((a) => a.at - killedAt);
    const later = attempts.filter((a) => a.attempt > 1).map((a) => a.at - killedAt);
    return {
      clients: opts.clients,
      downMs: round(restartedAt - killedAt),
      allBackMs: round(allBackAt - killedAt),
      immediate,
      later,
      accepts,
      immediateWindow: busiestWindow(immediate, 250),
      laterWindow: busiestWindow(later, 250),
      acceptWindow: busiestWindow(accepts, 250),
    };
  } finally {
    await Promise.all(sockets.map((s) => s.close()));
    await server.stop();
  }
}

// ---------------------------------------------------------------------------
// Report

function histogram(fleet) {
  const width = 100;
  const end = Math.max(...fleet.immediate, ...fleet.later, ...fleet.accepts);
  const buckets = Math.floor(end / width) + 1;
  const count = (times) => {
    const h = new Array(buckets).fill(0);
    for (const t of times) h[Math.floor(t / width)] += 1;
    return h;
  };
  const hi = count(fleet.immediate);
  const hl = count(fleet.later);
  const ha = count(fleet.accepts);
  const scale = Math.max(1, Math.max(...hl, ...ha) / 50);
  const lines = [
    `ms after the kill | immediate | backed-off | accepted | backed-off attempts (#), accepted by the server (+), one mark = ${round(scale, 1)}`,
  ];
  for (let b = 0; b < buckets; b += 1) {
    if (hi[b] + hl[b] + ha[b] === 0) continue;
    const label = `${String(b * width).padStart(5)}-${String((b + 1) * width).padEnd(5)}`;
    const bar = '#'.repeat(Math.round(hl[b] / scale)) + '+'.repeat(Math.round(ha[b] / scale));
    lines.push(`${label}      | ${String(hi[b]).padStart(9)} | ${String(hl[b]).padStart(10)} | ${String(ha[b]).padStart(8)} | ${bar}`);
  }
  return lines.join('\n');
}

function report(result) {
  const { detection, reconnect, fleet } = result;
  const bound = HEARTBEAT.interval + HEARTBEAT.timeout;
  const d = stats(detection.samples.map((s) => s.detectionMs));
  const r = stats(reconnect.samples.map((s) => s.reconnectMs));
  const pct = (w, n) => `${w.count} of ${n} (${round((100 * w.count) / n, 1)} %)`;
  const lines = [
    `# resilient-ws resilience — ${result.date}`,
    '',
    `${result.machine.cpuModel} ×${result.machine.cpuCount}, Node ${result.machine.node}, load average ` +
      `${result.machine.loadavgBefore.map((x) => x.toFixed(2)).join(' ')} before the run; ${quick ? 'quick' : 'full'} run, ${round(result.seconds)} s`,
    '',
    '## Dead-peer detection (blackhole after the last inbound byte)',
    '',
    `heartbeat ${HEARTBEAT.interval} / ${HEARTBEAT.timeout} ms, ${detection.samples.length} samples`,
    '',
    '| measure | min | median | max | configured bound | target (bound + 10 %) |',
    '|---|---|---|---|---|---|',
    `| detection, ms | ${d.min} | ${d.median} | ${d.max} | ${bound} | ≤ ${round(bound * 1.1)} — ${d.max <= bound * 1.1 ? 'met' : '**missed**'} |`,
    '',
    `Samples: ${detection.samples.map((s) => s.detectionMs).join(', ')} ms; every one ended with ` +
      `${[...new Set(detection.samples.map((s) => `${s.code} / ${s.error}`))].join(', ')}.`,
    `\`ws\` without a heartbeat (as shipped), same blackhole: ${detection.wsBaseline.detectedMs === null
      ? `not detected within ${detection.wsBaseline.waitedMs} ms (Linux keeps such a socket for ~15 min)`
      : `closed after ${round(detection.wsBaseline.detectedMs)} ms`}.`,
    '',
    '## Time to reconnect after the server is back',
    '',
    `server killed, down ${RECONNECT_DOWN_MS} ms, back on the same port; reconnect ${JSON.stringify(RECONNECT)}`,
    '',
    '| measure | min | median | max | configured bound |',
    '|---|---|---|---|---|',
    `| server back → open, ms | ${r.min} | ${r.median} | ${r.max} | ≤ delay in force (≤ maxDelay ${RECONNECT.maxDelay}) + connect |`,
    '',
    '| sample | retries while down | first retry delay | delay in force when back | back → open, ms |',
    '|---|---|---|---|---|',
    ...reconnect.samples.map((s, i) => `| ${i + 1} | ${s.retriesWhileDown} | ${s.firstRetryDelay} ms | ${s.delayInForceMs} ms | ${s.reconnectMs} |`),
    '',
    '## Reconnect spread of a fleet',
    '',
    `${fleet.clients} clients, stable connections, server killed and down ${fleet.downMs} ms, reconnect ` +
      `${JSON.stringify(FLEET_RECONNECT)}; all ${fleet.clients} back ${fleet.allBackMs} ms after the kill.`,
    '',
    '| attempts | count | busiest 250 ms window | target: no window > 25 % |',
    '|---|---|---|---|',
    `| immediate retry (stable connection, attempt 1) | ${fleet.immediate.length} | ${pct(fleet.immediateWindow, fleet.immediate.length)} | by design (reconnect.immediate) |`,
    `| backed-off attempts (attempt ≥ 2) | ${fleet.later.length} | ${pct(fleet.laterWindow, fleet.later.length)} | ${fleet.laterWindow.count <= 0.25 * fleet.later.length ? 'met' : '**missed**'} |`,
    `| accepted by the server after the restart | ${fleet.accepts.length} | ${pct(fleet.acceptWindow, fleet.accepts.length)} | ${fleet.acceptWindow.count <= 0.25 * fleet.accepts.length ? 'met' : '**missed**'} |`,
    '',
    'Histogram, 100 ms buckets:',
    '',
    '```',
    histogram(fleet),
    '```',
    '',
  ];
  return lines.join('\n');
}

async function main() {
  const started = now();
  const machine = {
    cpuModel: os.cpus()[0] ? os.cpus()[0].model.trim() : 'unknown',
    cpuCount: os.cpus().length,
    node: process.version,
    loadavgBefore: os.loadavg(),
  };
  process.stderr.write(`dead-peer detection (${opts.detectionSamples} samples)…\n`);
  const detection = await measureDetection();
  process.stderr.write(`time to reconnect (${opts.reconnectSamples} samples)…\n`);
  const reconnect = await measureReconnect();
  process.stderr.write(`fleet of ${opts.clients}…\n`);
  const fleet = await measureFleet();
  machine.loadavgAfter = os.loadavg();
  const result = {
    date: new Date().toISOString(),
    machine,
    options: { ...opts, quick, heartbeat: HEARTBEAT, reconnect: RECONNECT, fleetReconnect: FLEET_RECONNECT, fleetDownMs: FLEET_DOWN_MS, reconnectDownMs: RECONNECT_DOWN_MS },
    seconds: (now() - started) / 1000,
    detection,
    reconnect,
    fleet: {
      ...fleet,
      immediate: fleet.immediate.map((t) => round(t, 1)),
      later: fleet.later.map((t) => round(t, 1)),
      accepts: fleet.accepts.map((t) => round(t, 1)),
    },
  };
  const md = report(result);
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  fs.writeFileSync(path.join(RESULTS_DIR, 'resilience.json'), `${JSON.stringify(result, null, 2)}\n`);
  fs.writeFileSync(path.join(RESULTS_DIR, 'resilience.md'), md);
  process.stdout.write(md);
}

main().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
