'use strict';

/**
 * resilient-ws outbox benchmark, next to the
 * outbox most Node developers would build instead: an SQLite table through better-sqlite3 (WAL,
 * synchronous=FULL; insert on send, delete once written) in front of a `ws` client.
 *
 *   node bench/outbox.js              3 rounds (~1-2 min with the 1M-record reopen)
 *   node bench/outbox.js --quick      1 round, 200,000-record reopen
 *   node bench/outbox.js --rounds=5 --records=1000000 --no-send --no-reopen --no-native
 *   BETTER_SQLITE3=/path/to/node_modules/better-sqlite3 node bench/outbox.js
 *   RESILIENT_WS_MODULE=<dir> node bench/outbox.js   measure another build of resilient-ws
 *
 * Send scenarios, all 64 B text to the sink of bench/frame-server.js (a separate process that
 * counts frames and answers "done:N" when it has them all):
 *   - "stream": the application calls send() for 100 messages per event-loop turn, without
 *     awaiting receipts (a service producing continuously). Each turn is one batch for the io
 *     thread, so fsync 'batch' costs one fdatasync per turn at most.
 *   - "burst": every send() in one loop (the bench/run.js pattern): one batch, one fdatasync.
 * Rates are "delivered/s": from the first send() to the sink's "done:N", i.e. messages the far
 * end had. "resolved/s" (first send() to the last receipt) is reported beside it: for a file
 * outbox a receipt means "on disk" ('persisted'), before the message is on the wire.
 * Each measurement uses a fresh connection and a fresh outbox directory; modes alternate within
 * a round; cells are medians over rounds with [min-max]. Only ratios mean anything on a shared
 * machine.
 *
 * Reopen: a child process writes N records (default 1,000,000, {"n":i}, fsync 'batch') with
 * the server down and exits; then fresh processes time `new ResilientSocket(...)` → the first
 * 'connecting' event (emitted right after the outbox was opened and recovered), 3 times. The
 * core's own timing (native/tests/outbox_log_test.cpp, OutboxLog.ReopenOneMillionRecordsTiming,
 * no Node in the way) is run too when build-tests/rws_core_tests exists.
 *
 * Writes bench/results/outbox.json (machine, options, every sample) and outbox.md.
 */

const { spawn, spawnSync } = require('child_process');
const { deferred, startFrameServer } = require('./util');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { performance } = require('perf_hooks');

const ROOT = path.join(__dirname, '..');
// The build measured: this checkout, or another one (a second worktree) to compare with.
const MODULE = process.env.RESILIENT_WS_MODULE ? path.resolve(process.env.RESILIENT_WS_MODULE) : ROOT;
const RESULTS_DIR = path.join(__dirname, 'results');
const PAYLOAD = 'x'.repeat(64);
const STREAM_CHUNK = 100;
const TARGET_SECONDS = 0.8;
const MEASUREMENT_TIMEOUT_MS = 60000;

// ---------------------------------------------------------------------------
// Command line

function parseArgs(argv) {
  const opts = { quick: false, rounds: 0, records: 0, send: true, reopen: true, native: true, role: null, dir: null, url: null };
  for (const arg of argv) {
    if (arg === '--quick') opts.quick = true;
    else if (arg === '--no-send') opts.send = false;
    else if (arg === '--no-reopen') opts.reopen = false;
    else if (arg === '--no-native') opts.native = false;
    else if (arg.startsWith('--rounds=')) opts.rounds = Number(arg.slice(9));
    else if (arg.startsWith('--records=')) opts.records = Number(arg.slice(10));
    else if (arg.startsWith('--role=')) opts.role = arg.slice(7);
    else if (arg.startsWith('--dir=')) opts.dir = arg.slice(6);
    else if (arg.startsWith('--url=')) opts.url = arg.slice(6);
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write('usage: node bench/outbox.js [--quick] [--rounds=N] [--records=N] [--no-send] [--no-reopen] [--no-native]\n');
      process.exit(0);
    } else {
      process.stderr.write(`unknown argument ${arg} (try --help)\n`);
      process.exit(2);
    }
  }
  if (!opts.rounds) opts.rounds = opts.quick ? 1 : 3;
  if (!opts.records) opts.records = opts.quick ? 200000 : 1000000;
  return opts;
}

// ---------------------------------------------------------------------------
// Small utilities


function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

const turn = () => new Promise((resolve) => setImmediate(resolve));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};
const fmtRate = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');

function tempDir(label) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `rws-bench-${label}-`));
}

/** A loopback URL where nothing listens (connection refused). */
async function refusedUrl() {
  const net = require('net');
  const server = net.createServer();
  await new Promise((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return `ws://127.0.0.1:${port}/`;
}


/**
 * better-sqlite3 is not a dependency of this package (the lead decides): it is looked up in
 * $BETTER_SQLITE3, then the normal module path.
 * @returns {{Database: Function|null, version: string|null, why: string|null}}
 */
function loadSqlite() {
  const candidates = [process.env.BETTER_SQLITE3, 'better-sqlite3'].filter(Boolean);
  const reasons = [];
  for (const id of candidates) {
    try {
      const Database = require(id);
      // Opening a database proves the native part loads, not only the JS wrapper.
      new Database(':memory:').close();
      let version = null;
      try {
        version = require(path.join(path.dirname(require.resolve(id)), '..', 'package.json')).version;
      } catch { /* version unknown */ }
      return { Database, version, why: null };
    } catch (err) {
      reasons.push(`${id}: ${err.code || ''} ${err.message.split('\n')[0]}`.trim());
    }
  }
  return {
    Database: null,
    version: null,
    why: `better-sqlite3 is not installed (${reasons.join('; ')}). It has no prebuilt binary reachable here; ` +
      'build it from source: npm_config_build_from_source=true npm install --no-save better-sqlite3 ' +
      '(node-gyp against /usr/include/node via the npm config nodedir=/usr), or point BETTER_SQLITE3 at an install.',
  };
}

// ---------------------------------------------------------------------------
// Send scenarios

/**
 * resilient-ws: `count` messages to the sink, in the given pattern, with the given outbox.
 * @returns {Promise<{delivered: number, resolved: number, seconds: number, count: number}>}
 */
async function measureRws(ctx, mode, pattern, count) {
  const { ResilientSocket } = ctx.rws;
  const outbox = { maxMessages: count * 2 + 10000, maxBytes: Math.max(16 << 20, count * 400) };
  let dir = null;
  if (mode !== 'memory') {
    dir = tempDir('send');
    outbox.path = path.join(dir, 'outbox');
    outbox.fsync = mode;
  }
  const sock = new ResilientSocket(`ws://127.0.0.1:${ctx.port}/sink?count=${count}`, { heartbeat: false, reconnect: false, outbox });
  try {
    await withTimeout(new Promise((resolve, reject) => {
      sock.once('open', resolve);
      sock.once('failed', ({ error }) => reject(error));
    }), 10000, 'open');
    const done = deferred();
    sock.on('message', (data) => {
      if (data === `done:${count}`) done.resolve(performance.now());
      else done.reject(new Error(`sink answered ${String(data).slice(0, 40)}`));
    });
    let failure = null;
    const onReject = (err) => { failure = failure || err; };
    let lastResolved = 0;
    const onResolve = () => { lastResolved = performance.now(); };
    const t0 = performance.now();
    if (pattern === 'burst') {
      for (let i = 0; i < count; i++) sock.send(PAYLOAD).then(onResolve, onReject);
    } else {
      for (let sent = 0; sent < count;) {
        const n = Math.min(STREAM_CHUNK, count - sent);
        for (let i = 0; i < n; i++) sock.send(PAYLOAD).then(onResolve, onReject);
        sent += n;
        await turn();
      }
    }
    const t1 = await withTimeout(done.promise, MEASUREMENT_TIMEOUT_MS, `sink done:${count}`);
    await withTimeout((async () => { while (sock.outboxSize > 0 && !failure) await new Promise((r) => setTimeout(r, 1)); })(), 10000, 'receipts');
    await turn();
    if (failure) throw failure;
    return {
      delivered: count / ((t1 - t0) / 1000),
      resolved: lastResolved ? count / ((lastResolved - t0) / 1000) : NaN,
      seconds: (t1 - t0) / 1000,
      count,
    };
  } finally {
    await sock.close().catch(() => {});
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The SQLite outbox in front of `ws`: insert before sending, delete once ws reports the message
 * written (its send callback). 'sqlite-naive': one autocommit statement per insert and per
 * delete (what most code does); 'sqlite-tx': one transaction per event-loop turn for the
 * inserts and one per turn for the deletes (group commit written by hand).
 */
async function measureSqlite(ctx, mode, pattern, count) {
  const WebSocket = require('ws');
  const { Database } = ctx.sqlite;
  const dir = tempDir('sqlite');
  const db = new Database(path.join(dir, 'outbox.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, payload TEXT NOT NULL)');
  const insert = db.prepare('INSERT INTO outbox (key, payload) VALUES (?, ?)');
  const deleteOne = db.prepare('DELETE FROM outbox WHERE id = ?');
  const deleteUpTo = db.prepare('DELETE FROM outbox WHERE id <= ?');
  const insertMany = db.transaction((first, n) => {
    let id = 0;
    for (let i = 0; i < n; i++) id = insert.run(`k-${first + i}`, PAYLOAD).lastInsertRowid;
    return id;
  });
  const ws = new WebSocket(`ws://127.0.0.1:${ctx.port}/sink?count=${count}`, { perMessageDeflate: false });
  try {
    await withTimeout(new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    }), 10000, 'open');
    const done = deferred();
    ws.on('message', (data) => {
      if (data.toString() === `done:${count}`) done.resolve(performance.now());
      else done.reject(new Error(`sink answered ${data.toString().slice(0, 40)}`));
    });
    let failure = null;
    let lastWritten = 0;
    let deleteFrom = 0; // sqlite-tx: highest written id not yet deleted
    let flushScheduled = false;
    const flushDeletes = () => {
      flushScheduled = false;
      if (deleteFrom) deleteUpTo.run(deleteFrom);
    };
    const sendOne = (id) => {
      ws.send(PAYLOAD, (err) => {
        if (err) { failure = failure || err; return; }
        lastWritten = performance.now();
        if (mode === 'sqlite-naive') {
          deleteOne.run(id);
        } else {
          deleteFrom = Math.max(deleteFrom, Number(id));
          if (!flushScheduled) {
            flushScheduled = true;
            setImmediate(flushDeletes);
          }
        }
      });
    };
    const t0 = performance.now();
    const chunk = pattern === 'burst' ? count : STREAM_CHUNK;
    for (let sent = 0; sent < count;) {
      const n = Math.min(chunk, count - sent);
      if (mode === 'sqlite-naive') {
        for (let i = 0; i < n; i++) sendOne(insert.run(`k-${sent + i}`, PAYLOAD).lastInsertRowid);
      } else {
        const last = Number(insertMany(sent, n));
        for (let id = last - n + 1; id <= last; id++) sendOne(id);
      }
      sent += n;
      if (pattern !== 'burst') await turn();
    }
    const t1 = await withTimeout(done.promise, MEASUREMENT_TIMEOUT_MS, `sink done:${count}`);
    await withTimeout((async () => {
      while (!failure && db.prepare('SELECT count(*) AS n FROM outbox').get().n > 0) await new Promise((r) => setTimeout(r, 1));
    })(), 10000, 'deletes');
    if (failure) throw failure;
    return {
      delivered: count / ((t1 - t0) / 1000),
      // An SQLite insert is durable when run() returns; "resolved" here is "every row deleted".
      resolved: count / ((lastWritten - t0) / 1000),
      seconds: (t1 - t0) / 1000,
      count,
    };
  } finally {
    ws.terminate();
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const SCENARIOS = [
  // [id, label, mode, pattern, warm-up count]
  ['memory-stream', 'in-memory outbox', 'memory', 'stream', 20000],
  ['none-stream', "file outbox, fsync 'none'", 'none', 'stream', 20000],
  ['batch-stream', "file outbox, fsync 'batch'", 'batch', 'stream', 20000],
  ['always-stream', "file outbox, fsync 'always'", 'always', 'stream', 300],
  ['sqlite-naive-stream', 'SQLite (WAL, synchronous=FULL), a commit per insert and per delete', 'sqlite-naive', 'stream', 300],
  ['sqlite-tx-stream', 'SQLite (WAL, synchronous=FULL), a transaction per turn', 'sqlite-tx', 'stream', 3000],
  ['memory-burst', 'in-memory outbox', 'memory', 'burst', 20000],
  ['batch-burst', "file outbox, fsync 'batch'", 'batch', 'burst', 20000],
];

async function runSendScenarios(ctx, opts, results) {
  const measure = (s, count) => (s[2].startsWith('sqlite') ? measureSqlite : measureRws)(ctx, s[2], s[3], count);
  const active = SCENARIOS.filter((s) => !s[2].startsWith('sqlite') || ctx.sqlite.Database);
  // Size each scenario's count from a warm-up so one measurement takes about TARGET_SECONDS.
  const counts = {};
  for (const s of active) {
    try {
      await measure(s, Math.ceil(s[4] / 4)); // JIT, code paths
      const warm = await measure(s, s[4]);
      counts[s[0]] = Math.max(s[4], Math.min(1000000, Math.round(warm.delivered * TARGET_SECONDS / 100) * 100));
      process.stderr.write(`  warm-up ${s[0]}: ${fmtRate(warm.delivered)} msgs/s → ${counts[s[0]]} per measurement\n`);
    } catch (err) {
      results.failures.push(`${s[0]} warm-up: ${err.message}`);
    }
  }
  for (let round = 0; round < opts.rounds; round++) {
    // Rotate the order every round, so a slow phase of the machine does not hit one mode only.
    const order = active.map((_, i) => active[(i + round) % active.length]);
    for (const s of order) {
      if (!counts[s[0]]) continue;
      try {
        if (global.gc) global.gc();
        const r = await measure(s, counts[s[0]]);
        (results.samples[s[0]] = results.samples[s[0]] || []).push(r);
        process.stderr.write(`  round ${round + 1} ${s[0]}: ${fmtRate(r.delivered)} delivered/s\n`);
      } catch (err) {
        results.failures.push(`${s[0]} round ${round + 1}: ${err.message}`);
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Reopen

/** Child role: write `count` records into dir with the server down, then close and exit. */
async function roleFill(opts) {
  const { ResilientSocket } = require(MODULE);
  const count = opts.records;
  const sock = new ResilientSocket(opts.url, {
    heartbeat: false, reconnect: { initialDelay: 60000, maxDelay: 60000 },
    outbox: { path: opts.dir, fsync: 'batch', maxMessages: count + 1, maxBytes: count * 200 },
  });
  sock.on('error', () => {});
  const t0 = performance.now();
  for (let sent = 0; sent < count;) {
    const n = Math.min(10000, count - sent);
    let last;
    for (let i = 0; i < n; i++) last = sock.send(`{"n":${sent + i}}`);
    sent += n;
    await last; // group commit per 10,000; also keeps the number of live promises bounded
  }
  const seconds = (performance.now() - t0) / 1000;
  await sock.close();
  process.stdout.write(`${JSON.stringify({ written: count, seconds })}\n`);
}

/** Child role: time new ResilientSocket → first 'connecting' on an existing outbox. */
async function roleReopen(opts) {
  const { ResilientSocket } = require(MODULE); // loading the addon is outside the timed window
  const rssBefore = process.memoryUsage().rss;
  const t0 = performance.now();
  const sock = new ResilientSocket(opts.url, {
    heartbeat: false, reconnect: { initialDelay: 60000, maxDelay: 60000 },
    outbox: { path: opts.dir, maxMessages: 1e8, maxBytes: 1e12 },
  });
  sock.on('error', () => {});
  const outcome = await new Promise((resolve) => {
    sock.once('connecting', () => resolve({ ms: performance.now() - t0 }));
    sock.once('failed', ({ error }) => resolve({ error: error.message }));
  });
  outcome.outboxSize = sock.outboxSize;
  outcome.rssMiB = Math.round((process.memoryUsage().rss - rssBefore) / (1 << 20));
  await sock.close();
  process.stdout.write(`${JSON.stringify(outcome)}\n`);
}

function runRole(role, args) {
  const r = spawnSync(process.execPath, [__filename, `--role=${role}`, ...args], { encoding: 'utf8', maxBuffer: 1 << 20 });
  const line = (r.stdout || '').trim().split('\n').pop();
  try {
    return JSON.parse(line);
  } catch {
    throw new Error(`${role} failed (exit ${r.status}): ${(r.stderr || r.stdout || '').trim().slice(0, 300)}`);
  }
}

async function runReopen(ctx, opts, results) {
  const dir = tempDir('reopen');
  const outbox = path.join(dir, 'outbox');
  const url = await refusedUrl();
  try {
    process.stderr.write(`  reopen: writing ${opts.records.toLocaleString('en-US')} records…\n`);
    const fill = runRole('fill', [`--dir=${outbox}`, `--url=${url}`, `--records=${opts.records}`]);
    let bytes = 0;
    for (const name of fs.readdirSync(outbox)) bytes += fs.statSync(path.join(outbox, name)).size;
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push(runRole('reopen', [`--dir=${outbox}`, `--url=${url}`]));
    results.reopen = { records: opts.records, fill, diskMB: bytes / 1e6, runs };
    if (ctx.sqlite.Database) results.reopen.sqlite = reopenSqlite(ctx, opts.records, dir);
  } catch (err) {
    results.failures.push(`reopen: ${err.message}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The SQLite side: N rows inserted (one transaction per 10,000), then open + SELECT all. */
function reopenSqlite(ctx, records, dir) {
  const { Database } = ctx.sqlite;
  const file = path.join(dir, 'outbox.db');
  let db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, payload TEXT NOT NULL)');
  const insert = db.prepare('INSERT INTO outbox (key, payload) VALUES (?, ?)');
  const many = db.transaction((from, n) => {
    for (let i = 0; i < n; i++) insert.run(`01JBENCHKEY0000000000000000-${(from + i).toString(16).padStart(12, '0')}`, `{"n":${from + i}}`);
  });
  for (let sent = 0; sent < records; sent += 10000) many(sent, Math.min(10000, records - sent));
  db.close();
  const runs = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    db = new Database(file);
    db.pragma('journal_mode = WAL');
    const rows = db.prepare('SELECT id, key, payload FROM outbox ORDER BY id').all();
    runs.push({ ms: performance.now() - t0, rows: rows.length });
    db.close();
  }
  return { runs };
}

/** The core's own 1M-record reopen timing (no Node), if the C++ tests are built. */
function runNativeTiming(results) {
  const binary = path.join(ROOT, 'build-tests', 'rws_core_tests');
  if (!fs.existsSync(binary)) {
    results.native = { skipped: 'build-tests/rws_core_tests not built (npm test builds it)' };
    return;
  }
  const r = spawnSync(binary, ['--gtest_filter=OutboxLog.ReopenOneMillionRecordsTiming'], { encoding: 'utf8', timeout: 300000 });
  const info = (r.stdout || '').split('\n').filter((l) => l.includes('[ info')).map((l) => l.replace(/^\[ info\s*\]\s*/, ''));
  results.native = { exit: r.status, info, builtAt: fs.statSync(binary).mtime.toISOString() };
}

// ---------------------------------------------------------------------------
// Report

function renderMarkdown(results) {
  const lines = [];
  lines.push('# resilient-ws outbox benchmark', '');
  lines.push(`${results.machine.cpu} × ${results.machine.cores}, Node ${results.machine.node}, ${results.startedAt}; ` +
    `load average ${results.machine.loadavg.map((x) => x.toFixed(2)).join(' ')}; ${results.options.rounds} round(s).`, '');
  lines.push('## Send, 64 B text, one connection', '');
  lines.push('Delivered/s: from the first send() to the far end having them all. Resolved/s: to the last ' +
    "receipt (file outbox: 'persisted' = on disk, which comes before the wire). Median [min-max] over rounds; " +
    'only the ratio to the in-memory rate of the same pattern means anything.', '');
  lines.push('| scenario | pattern | delivered msgs/s | vs in-memory | resolved msgs/s |');
  lines.push('|---|---|---|---|---|');
  const med = {};
  for (const [id, label, , pattern] of SCENARIOS) {
    const samples = results.samples[id];
    if (!samples || !samples.length) continue;
    const d = samples.map((s) => s.delivered);
    med[id] = median(d);
    const base = med[`memory-${pattern}`];
    const ratio = base ? `${(med[id] / base).toFixed(2)}×` : '';
    lines.push(`| ${label} | ${pattern === 'stream' ? `${STREAM_CHUNK} per turn` : 'one loop'} | ${fmtRate(med[id])} [${fmtRate(Math.min(...d))}-${fmtRate(Math.max(...d))}] | ${ratio} | ${fmtRate(median(samples.map((s) => s.resolved)))} |`);
  }
  if (!results.sqlite.available) lines.push('', `SQLite rows missing: ${results.sqlite.why}`);
  const batchRatio = med['batch-stream'] / med['memory-stream'];
  if (Number.isFinite(batchRatio)) {
    lines.push('', `Target "file outbox, fsync 'batch' ≥ 50 % of the in-memory rate": ${(batchRatio * 100).toFixed(0)} % (stream) → ${batchRatio >= 0.5 ? 'met' : 'missed'}` +
      (med['batch-burst'] ? `; ${(med['batch-burst'] / med['memory-burst'] * 100).toFixed(0)} % (burst)` : '') + '.');
  }
  if (results.reopen) {
    const r = results.reopen;
    const ms = median(r.runs.map((x) => x.ms));
    lines.push('', `## Reopen of ${r.records.toLocaleString('en-US')} pending records`, '');
    lines.push(`Written by a child with the server down in ${r.fill.seconds.toFixed(1)} s (${fmtRate(r.fill.written / r.fill.seconds)} records/s, fsync 'batch' per 10,000); ${r.diskMB.toFixed(1)} MB on disk.`, '');
    lines.push('| measure | median | runs |', '|---|---|---|');
    lines.push(`| resilient-ws: new ResilientSocket → first 'connecting' (fresh process, addon loaded) | ${ms.toFixed(0)} ms | ${r.runs.map((x) => `${x.ms.toFixed(0)} ms (${x.outboxSize} pending, +${x.rssMiB} MiB RSS)`).join('; ')} |`);
    if (r.sqlite) lines.push(`| SQLite: open + SELECT every pending row | ${median(r.sqlite.runs.map((x) => x.ms)).toFixed(0)} ms | ${r.sqlite.runs.map((x) => `${x.ms.toFixed(0)} ms (${x.rows} rows)`).join('; ')} |`);
    lines.push('', `Target "1,000,000 records reopened in < 1 s"${r.records === 1000000 ? `: ${ms < 1000 ? 'met' : 'missed'}` : ' (not 1M records in this run)'}.`);
  }
  if (results.native) {
    lines.push('', '## Core timing (native/tests/outbox_log_test.cpp, no Node)', '');
    if (results.native.skipped) lines.push(`Skipped: ${results.native.skipped}.`);
    else lines.push(...results.native.info.map((l) => `- ${l}`), '', `(binary built ${results.native.builtAt}, exit ${results.native.exit})`);
  }
  if (results.failures.length) lines.push('', '## Failures', '', ...results.failures.map((f) => `- ${f}`));
  return `${lines.join('\n')}\n`;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.role === 'fill') return roleFill(opts);
  if (opts.role === 'reopen') return roleReopen(opts);

  const results = {
    startedAt: new Date().toISOString(),
    machine: {
      cpu: os.cpus()[0].model, cores: os.cpus().length, node: process.version, loadavg: os.loadavg(),
      tmpdir: os.tmpdir(),
    },
    options: { rounds: opts.rounds, records: opts.records, payloadBytes: PAYLOAD.length, streamChunk: STREAM_CHUNK },
    sqlite: {},
    samples: {},
    failures: [],
  };
  const ctx = { rws: require(MODULE), sqlite: loadSqlite() };
  results.sqlite = ctx.sqlite.Database ? { available: true, version: ctx.sqlite.version } : { available: false, why: ctx.sqlite.why };
  if (!ctx.sqlite.Database) process.stderr.write(`note: ${ctx.sqlite.why}\n`);

  if (opts.send) {
    const server = await startFrameServer();
    ctx.port = server.port;
    try {
      await runSendScenarios(ctx, opts, results);
    } finally {
      server.child.stdin.end();
      server.child.kill();
    }
  }
  if (opts.reopen) await runReopen(ctx, opts, results);
  if (opts.native) runNativeTiming(results);

  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  fs.writeFileSync(path.join(RESULTS_DIR, 'outbox.json'), `${JSON.stringify(results, null, 2)}\n`);
  const md = renderMarkdown(results);
  fs.writeFileSync(path.join(RESULTS_DIR, 'outbox.md'), md);
  process.stdout.write(md);
  if (results.failures.length) process.exitCode = 1;
}

main().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
