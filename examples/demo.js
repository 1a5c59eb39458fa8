'use strict';

// The first-touch demo (`npm run demo`): a ResilientSocket against a local event server that
// misbehaves on a schedule — a restart, a silent network, a 503 with Retry-After, an idle cut —
// while a live status line shows what the client is doing. It ends with a summary that checks
// the two promises of the library: no event missed (resume) and no message lost (outbox).
// Exit code 0 only if both held, so CI can run it as a smoke test.
//
// Everything runs in this process on 127.0.0.1: the event server is the server companion
// (`require('resilient-ws/server')`) on its memory store — or on Redis with `--redis[=url]` —
// behind the fault proxy from test/helpers/, plus a tiny "503 during deploy" listener. Nothing
// outlives it.

const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { performance } = require('perf_hooks');

const ROOT = path.join(__dirname, '..');

// A fresh checkout may not have the addon yet; build it once (a few minutes the first time).
if (!fs.existsSync(path.join(ROOT, 'build', 'Release', 'resilient_ws.node'))) {
  console.log('Building the native addon first (once)…');
  const built = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'build.js'), '--if-needed'], { stdio: 'inherit' });
  if (built.status !== 0) process.exit(built.status || 1);
}

const { ResilientSocket } = require(ROOT);
const { ResilientServer, MemoryStore } = require(path.join(ROOT, 'lib', 'server'));
const { startFaultProxy } = require(path.join(ROOT, 'test', 'helpers', 'fault-proxy'));

// ---------------------------------------------------------------------------------------------
// Settings and schedule (ms since start). Total ≈ 45 s, plus the catch-up at the end.

const FEED_HZ = 20;
const SEND_EVERY_MS = 200;
const HARD_LIMIT_MS = 70000; // the demo promises < 75 s; past this it reports failure and exits
const SCHEDULE = {
  restart: 6000, restartDownMs: 2500,
  blackhole: 14000, blackholeMs: 4000,
  deploy: 24000, deployMs: 3500, retryAfterS: 2,
  idle: 33000, idleCutAfterMs: 3000, idleResumeMs: 1000,
  stopSending: 42000,
};
const CATCH_UP_MS = 10000;

// ---------------------------------------------------------------------------------------------
// Output: a status line redrawn in place on a terminal, plain periodic lines otherwise (CI).

const plain = !process.stdout.isTTY || process.env.CI === 'true' || process.env.TERM === 'dumb';
const useColour = !plain && !process.env.NO_COLOR;
const paint = (code) => (text) => (useColour ? `\x1b[${code}m${text}\x1b[0m` : text);
const c = { dim: paint('2'), bold: paint('1'), red: paint('31'), green: paint('32'), yellow: paint('33'), magenta: paint('35'), cyan: paint('36') };

const started = Date.now();
const clock = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s`;
let statusShown = false;

function clearStatus() {
  if (!plain && statusShown) process.stdout.write('\r\x1b[2K');
  statusShown = false;
}

/** Prints one line above the status line. */
function say(line) {
  clearStatus();
  process.stdout.write(`${c.dim(clock())}  ${line}\n`);
  drawStatus();
}

const serverDoes = (text) => say(`${c.magenta('◆ server ')} ${text}`);
const noticed = (text) => say(`${c.yellow('▲ client ')} ${text}`);
const recovered = (text) => say(`${c.green('✔ client ')} ${text}`);

// ---------------------------------------------------------------------------------------------
// The misbehaving side.

let feed = null; // the current server process (replaced on restart and deploy)
const retiredFeeds = []; // earlier instances: their received lists and counters still count
let store = null; // the event store: outlives server instances, as a database or Redis would
let head = 0; // id of the newest event published
const redisArg = process.argv.find((a) => a === '--redis' || a.startsWith('--redis='));
const REDIS_URL = redisArg ? (redisArg.split('=')[1] || 'redis://127.0.0.1:6379') : null;
let proxy = null;
let unavailable = null; // answers every request with 503 + Retry-After

/** A listener that answers every HTTP request with 503 and Retry-After, like a load balancer mid-deploy. */
async function startUnavailable(retryAfterS) {
  const sockets = new Set();
  const srv = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.once('data', () => {
      const body = 'deploy in progress\n';
      s.end(`HTTP/1.1 503 Service Unavailable\r\nRetry-After: ${retryAfterS}\r\nContent-Type: text/plain\r\n`
        + `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    });
  });
  await new Promise((resolve) => srv.listen({ host: '127.0.0.1', port: 0 }, resolve));
  return {
    port: srv.address().port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => srv.close(() => resolve()));
    },
  };
}

async function openStore() {
  if (!REDIS_URL) return new MemoryStore({ firstId: 1, maxEvents: 100000 });
  const { RedisStore } = require(path.join(ROOT, 'lib', 'server'));
  const s = new RedisStore({ redis: { ...redisOptions(REDIS_URL), maxRetriesPerRequest: 2, connectTimeout: 2000 }, firstId: 1, prefix: `rws-demo:${process.pid}:${Date.now()}:` });
  s.on('error', (err) => say(c.red(`✖ Redis: ${err.message}`)));
  try {
    await s.read('default', 0, 1); // fails fast when no Redis is at hand
  } catch (err) {
    await s.close();
    console.error(`No Redis at ${REDIS_URL} (${err.message}); run without --redis for the memory store.`);
    process.exit(1);
  }
  return s;
}

/** ioredis options from a redis:// URL. */
function redisOptions(url) {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port || 6379), password: u.password || undefined, db: Number(u.pathname.slice(1) || 0) };
}

/** One server "process": the companion on the shared store, with a ticker publishing events. */
async function startFeed() {
  const received = [];
  const server = new ResilientServer({
    port: 0,
    host: '127.0.0.1',
    store,
    onMessage: (msg, ctx) => { received.push({ key: ctx.key }); }, // once per key, then acked
  });
  await server.listening;
  let ticker = null;
  const f = {
    server,
    port: server.port,
    received,
    start(rateHz) {
      clearInterval(ticker);
      ticker = setInterval(() => {
        server.publish(`tick-${head + 1}`).then((id) => { head = Math.max(head, id); }, () => {});
      }, 1000 / rateHz);
    },
    stop() { clearInterval(ticker); },
  };
  return f;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const at = (ms) => sleep(Math.max(0, started + ms - Date.now()));

async function restartServer() {
  serverDoes(`restarting: shutdown({ reason: 'restart' }) closes every connection with 1012, down for ${SCHEDULE.restartDownMs / 1000} s`);
  await proxy.setMode('refuse'); // the port is closed while the process is down
  const old = feed;
  old.stop();
  await old.server.shutdown({ reason: 'restart' });
  retiredFeeds.push(old);
  await sleep(SCHEDULE.restartDownMs);
  feed = await startFeed();
  proxy.setTarget({ port: feed.port });
  await proxy.setMode('pass');
  feed.start(FEED_HZ);
  serverDoes(`back up on the same event store (head #${head})`);
}

async function blackhole() {
  serverDoes(`network goes silent for ${SCHEDULE.blackholeMs / 1000} s: every packet dropped, no FIN, no RST`);
  await proxy.setMode('blackhole');
  await sleep(SCHEDULE.blackholeMs);
  await proxy.setMode('pass');
  serverDoes('network is back');
}

async function deploy() {
  serverDoes(`deploy: the old version closes connections with 1001; the load balancer answers 503, Retry-After: ${SCHEDULE.retryAfterS}, for ${SCHEDULE.deployMs / 1000} s`);
  proxy.setTarget({ port: unavailable.port });
  const old = feed;
  old.stop();
  await old.server.shutdown({ reason: 'deploy' });
  retiredFeeds.push(old);
  feed = await startFeed(); // the new version publishes at once; the client replays it later
  feed.start(FEED_HZ);
  await sleep(SCHEDULE.deployMs);
  proxy.setTarget({ port: feed.port });
  serverDoes('deploy done: requests reach the new version'); 
}

async function idleCut() {
  serverDoes(`the feed goes quiet; after ${SCHEDULE.idleCutAfterMs / 1000} s the proxy's idle timeout drops the connection (TCP FIN, no close frame)`);
  feed.stop();
  await sleep(SCHEDULE.idleCutAfterMs);
  proxy.closeAll(); // what nginx's proxy_read_timeout does to an upgraded connection
  await sleep(SCHEDULE.idleResumeMs);
  feed.start(FEED_HZ);
  serverDoes('the feed resumes');
}

// ---------------------------------------------------------------------------------------------
// The client.

let sock = null;
let tmpDir = null;
const ids = []; // event ids in delivery order
let lastInboundAt = Date.now();
let lastRtt = null; // ms: heartbeat RTT, else the last send→ack round trip
let rttSource = '';
let offlineSince = null;
let pendingDisconnect = null;
const sent = []; // { key, offline, acked }
let backlog = []; // entries of `sent` not yet acknowledged when the connection reopened
let sending = null;

function drawStatus() {
  if (plain || !sock) return;
  process.stdout.write(`\r\x1b[2K${statusLine()}`);
  statusShown = true;
}

function statusLine() {
  const state = sock.state;
  const colourOf = { open: c.green, failed: c.red, closed: c.dim };
  const st = (colourOf[state] || c.yellow)(state.padEnd(12));
  const stats = sock.stats();
  const rtt = lastRtt === null ? '—' : `${lastRtt.toFixed(1)} ms${rttSource}`;
  const offline = sent.filter((m) => m.offline).length;
  const core = `${c.bold('●')} ${st} attempt ${String(stats.attempt).padEnd(3)} rtt ${rtt.padEnd(14)} `
    + `last id ${c.cyan(`#${sock.lastEventId || '—'}`.padEnd(6))} outbox ${String(sock.outboxSize).padEnd(4)}`;
  const tail = `events ${ids.length}, sent ${sent.length} (${offline} offline)`;
  // A line wider than the terminal wraps, and '\r' could then no longer redraw it in place.
  const width = process.stdout.columns || 200;
  const visible = core.replace(/\x1b\[[0-9;]*m/g, '').length;
  return visible + 1 + tail.length < width ? `${core} ${c.dim(tail)}` : core;
}

function describeDisconnect(d, silentMs) {
  const code = d.error ? d.error.code : '';
  if (code === 'ERR_HEARTBEAT_TIMEOUT') return `server went silent — heartbeat timed out after ${(silentMs / 1000).toFixed(1)} s`;
  if (d.code === 1012) return `server is restarting (close 1012 "${d.reason}")`;
  if (d.code === 1001) return `server is going away (close 1001 "${d.reason}")`;
  if (d.code === 1006) return `connection cut without a close frame (1006) after ${(silentMs / 1000).toFixed(1)} s without events — like a proxy's idle timeout`;
  return `connection lost (code ${d.code}${d.reason ? ` "${d.reason}"` : ''}${d.error ? `: ${d.error.message}` : ''})`;
}

function describeFailedAttempt(r) {
  const e = r.error || {};
  if (r.status === 503) return `attempt ${r.attempt - 1}: server answered 503 Service Unavailable, Retry-After: ${r.retryAfter !== undefined ? `${r.retryAfter / 1000} s` : 'none'}`;
  if (e.code === 'ERR_CONNECTION_REFUSED') return `attempt ${r.attempt - 1}: connection refused (nothing listening)`;
  if (e.code === 'ERR_CONNECT_TIMEOUT') return `attempt ${r.attempt - 1}: no answer to the handshake (connect timeout)`;
  return `attempt ${r.attempt - 1} failed: ${e.message || r.reason}`;
}

function startClient(url) {
  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rws-demo-'));
  sock = new ResilientSocket(url, {
    resume: { idField: 'id', via: 'query' },
    heartbeat: { interval: 1000, timeout: 1000 },
    reconnect: { initialDelay: 300, maxDelay: 3000 },
    connectTimeout: 3000,
    outbox: { path: tmpDir, guarantee: 'acked', keyField: 'key' },
  });
  sock.on('message', (data, info) => {
    lastInboundAt = Date.now();
    if (info.id !== undefined) ids.push(Number(info.id));
  });
  sock.on('heartbeat', ({ rtt }) => {
    lastInboundAt = Date.now();
    lastRtt = rtt;
    rttSource = ' (ping)';
  });
  sock.on('open', (o) => {
    if (!o.reconnected) {
      recovered(`connected to ${o.url}`);
      return;
    }
    const away = offlineSince === null ? 0 : (Date.now() - offlineSince) / 1000;
    offlineSince = null;
    backlog = sent.filter((m) => !m.acked);
    recovered(`back online after ${away.toFixed(1)} s (attempt ${o.attempt}) — resuming after event #${o.resumedFrom}`
      + `${backlog.length ? `; ${backlog.length} queued message${backlog.length === 1 ? '' : 's'} going out` : ''}`);
  });
  sock.on('disconnect', (d) => {
    offlineSince = Date.now();
    pendingDisconnect = { d, silentMs: Date.now() - lastInboundAt };
  });
  sock.on('reconnecting', (r) => {
    const wait = r.delay === 0 ? 'reconnecting at once (0 ms)' : `reconnecting in ${r.delay} ms`;
    if (pendingDisconnect) {
      noticed(`${describeDisconnect(pendingDisconnect.d, pendingDisconnect.silentMs)}; ${wait}`);
      pendingDisconnect = null;
    } else {
      const retry = r.retryAfter !== undefined ? `waiting ${(r.delay / 1000).toFixed(1)} s as asked` : `retrying in ${r.delay} ms`;
      noticed(`${describeFailedAttempt(r)}; ${retry}`);
    }
  });
  sock.on('drain', () => {
    // Once per reconnect that had a backlog. The receipts of this batch settle as promise
    // callbacks, after this event: count them on the next turn.
    if (!backlog.length) return;
    const queued = backlog;
    backlog = [];
    setImmediate(() => {
      const acked = queued.filter((m) => m.acked).length;
      recovered(`outbox drained — the server acknowledged ${acked}/${queued.length} queued messages`);
    });
  });
  sock.on('failed', ({ error }) => say(c.red(`✖ client gave up: ${error.code} ${error.message}`)));
  sock.on('error', (err) => say(c.red(`✖ error ${err.code}: ${err.message}`)));
}

function startSending() {
  let n = 0;
  sending = setInterval(() => {
    n += 1;
    const key = `note-${n}`;
    const entry = { key, offline: sock.state !== 'open', acked: false };
    sent.push(entry);
    const at0 = performance.now();
    sock.send(JSON.stringify({ type: 'note', n, key }), { key }).then(() => {
      entry.acked = true;
      if (!entry.offline && rttSource !== ' (ping)') {
        lastRtt = performance.now() - at0;
        rttSource = ' (ack)';
      }
    }, () => {}); // rejections only on close; the summary counts what the server received
  }, SEND_EVERY_MS);
}

// ---------------------------------------------------------------------------------------------

function legend() {
  const lines = [
    c.bold('resilient-ws demo — a client that survives a misbehaving server (about 45 s)'),
    `  ${c.magenta('◆ server')}  the server companion (resilient-ws/server, ${REDIS_URL ? `Redis store at ${REDIS_URL}` : 'memory store'}) publishing ${FEED_HZ} events/s`,
    '            behind a fault proxy. On a schedule it restarts (1012), goes silent, is redeployed (1001 and',
    '            503 with Retry-After), and is cut while idle.',
    `  ${c.yellow('▲ client')}  what ResilientSocket noticed, in plain words.  ${c.green('✔ client')}  its recovery.`,
    '  The client resumes with ?after=<last id>, probes with a heartbeat (1 s idle + 1 s timeout),',
    `  and sends a message every ${SEND_EVERY_MS} ms — online or not — through a file outbox that keeps`,
    '  each one until the server acknowledges it.',
    `  Status: state · attempt · rtt · last event id · outbox (messages not yet acknowledged)${plain ? ' — printed every 5 s' : ''}`,
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function main() {
  const hardLimit = setTimeout(() => {
    clearStatus();
    console.error(c.red(`demo did not finish within ${HARD_LIMIT_MS / 1000} s — failing`));
    process.exit(2);
  }, HARD_LIMIT_MS);
  hardLimit.unref();

  legend();
  unavailable = await startUnavailable(SCHEDULE.retryAfterS);
  store = await openStore();
  feed = await startFeed();
  proxy = await startFaultProxy({ target: { port: feed.port } });
  startClient(proxy.url('/events'));
  const redraw = setInterval(plain ? () => process.stdout.write(`${clock()}  ${statusLine()}\n`) : drawStatus, plain ? 5000 : 100);

  await new Promise((resolve) => sock.once('open', resolve));
  feed.start(FEED_HZ);
  startSending();

  await at(SCHEDULE.restart);
  await restartServer();
  await at(SCHEDULE.blackhole);
  await blackhole();
  await at(SCHEDULE.deploy);
  await deploy();
  await at(SCHEDULE.idle);
  await idleCut();
  await at(SCHEDULE.stopSending);

  clearInterval(sending);
  feed.stop();
  say(`${c.bold('■ demo    ')} stopping: no more sends; waiting for the outbox to drain and the last events to arrive`);
  const deadline = Date.now() + CATCH_UP_MS;
  while (Date.now() < deadline && !(sock.outboxSize === 0 && ids[ids.length - 1] === head && sent.every((m) => m.acked))) {
    await sleep(50);
  }
  const stats = sock.stats();
  await sock.close();
  clearInterval(redraw);
  clearStatus();
  await proxy.stop();
  await feed.server.close();
  await store.close();
  await unavailable.close();
  fs.rmSync(tmpDir, { recursive: true, force: true });
  clearTimeout(hardLimit);

  process.exitCode = summary(head, stats);
}

/** Prints the verdict; returns the exit code (0 only if nothing was missed and nothing lost). */
function summary(head, stats) {
  // Events: the application must have seen 1..head, each once, in order.
  const seen = new Map();
  let outOfOrder = 0;
  for (let i = 0; i < ids.length; i++) {
    seen.set(ids[i], (seen.get(ids[i]) || 0) + 1);
    if (i > 0 && ids[i] <= ids[i - 1]) outOfOrder += 1;
  }
  let missing = 0;
  for (let id = 1; id <= head; id++) if (!seen.has(id)) missing += 1;
  const appDuplicates = ids.length - seen.size;

  // Messages: every key sent must have reached the server's handler exactly once. Re-sends after
  // a drop are expected (the outbox is at-least-once); the companion answers them with the ack
  // from its key marks without calling the handler again.
  const feeds = [...retiredFeeds, feed];
  const received = feeds.flatMap((f) => f.received);
  const receivedKeys = new Map();
  for (const r of received) if (r.key !== undefined) receivedKeys.set(r.key, (receivedKeys.get(r.key) || 0) + 1);
  const lost = sent.filter((m) => !receivedKeys.has(m.key));
  const handledTwice = [...receivedKeys.values()].filter((n) => n > 1).length;
  const offline = sent.filter((m) => m.offline);
  const offlineDelivered = offline.filter((m) => receivedKeys.has(m.key)).length;
  const resent = feeds.reduce((sum, f) => sum + f.server.stats().duplicates, 0);

  const ok = missing === 0 && appDuplicates === 0 && outOfOrder === 0 && stats.idGaps === 0 && lost.length === 0 && handledTwice === 0;
  const mark = (good) => (good ? c.green('✔') : c.red('✖'));
  const lines = [
    '',
    c.bold('Summary'),
    `  ${mark(missing === 0 && stats.idGaps === 0)} events received     ${ids.length} of ${head}, gaps ${missing} (stats.idGaps ${stats.idGaps})`,
    `  ${mark(appDuplicates === 0 && outOfOrder === 0)} duplicates          ${appDuplicates} reached the app, ${outOfOrder} out of order; ${stats.duplicatesDropped} dropped by the client (stats.duplicatesDropped)`,
    `  ${mark(lost.length === 0 && handledTwice === 0)} messages sent       ${sent.length}, handled by the server ${sent.length - lost.length}, ${handledTwice} of them twice`,
    `  ${mark(offlineDelivered === offline.length)} sent while offline  ${offline.length}, delivered ${offlineDelivered}`,
    `    re-sent after drops  ${resent} (same key; acked again by the server without handling them twice)`,
    `    connections          ${stats.connects} (${stats.reconnects} reconnects), offline ${(stats.disconnectedMs / 1000).toFixed(1)} s in total`,
    `    took                 ${((Date.now() - started) / 1000).toFixed(1)} s`,
    ok ? c.green(c.bold('  PASS — nothing missed, nothing lost')) : c.red(c.bold('  FAIL — see the ✖ lines above')),
  ];
  if (lost.length) lines.push(`  lost keys: ${lost.slice(0, 10).map((m) => m.key).join(', ')}${lost.length > 10 ? ', …' : ''}`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return ok ? 0 : 1;
}

main().catch(async (err) => {
  clearStatus();
  console.error(c.red(`demo crashed: ${err && err.stack ? err.stack : err}`));
  process.exitCode = 1;
  clearInterval(sending);
  // Best-effort cleanup so the process can still exit.
  await Promise.allSettled([sock && sock.close(), proxy && proxy.stop(), feed && feed.server.close(), store && store.close(), unavailable && unavailable.close()]);
  if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
  process.exit(1);
});
