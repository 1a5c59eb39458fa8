'use strict';

/**
 * SPEC §10 "idle connections: ≤ 0.5× ws client RSS per connection at 5,000 connections".
 *
 *   node bench/idle-memory.js [--connections=5000]
 *
 * A `ws` server runs in one child process; each client (ws, then resilient-ws with its default
 * options: heartbeat and in-memory outbox on) runs in a fresh child process of its own, opens the
 * connections in steps of 200, lets them sit idle for 2 s, and reports its RSS growth after a
 * full GC. Children run with `ulimit -n` raised so 5,000 sockets fit. Writes
 * bench/results/idle-memory.{json,md}.
 */

const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const REPO = path.join(__dirname, '..');
const arg = (name, fallback) => {
  const found = process.argv.find((a) => a.startsWith(`--${name}=`));
  return found ? Number(found.split('=')[1]) : fallback;
};
const CONNECTIONS = arg('connections', 5000);

const SERVER = `
const { WebSocketServer } = require(${JSON.stringify(require.resolve('ws'))});
const wss = new WebSocketServer({ port: 0, backlog: 4096, perMessageDeflate: false });
wss.on('listening', () => console.log(wss.address().port));
`;

const CLIENT = `
const kind = process.argv[1], url = process.argv[2], count = Number(process.argv[3]);
const WebSocket = require(${JSON.stringify(require.resolve('ws'))});
const { ResilientSocket } = require(${JSON.stringify(REPO)});
const sockets = [];
function open() {
  if (kind === 'ws') {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    sockets.push(ws);
    return new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  }
  const s = new ResilientSocket(url);
  sockets.push(s);
  return new Promise((resolve, reject) => { s.once('open', resolve); s.once('failed', ({ error }) => reject(error)); });
}
(async () => {
  global.gc(); global.gc();
  const before = process.memoryUsage().rss;
  for (let i = 0; i < count; i += 200) {
    const step = [];
    for (let j = i; j < Math.min(count, i + 200); j++) step.push(open());
    await Promise.all(step);
  }
  await new Promise((r) => setTimeout(r, 2000));
  global.gc(); global.gc();
  const after = process.memoryUsage().rss;
  console.log(JSON.stringify({ kind, count, before, after, perConnection: (after - before) / count }));
  process.exit(0);
})().catch((err) => { console.error(err); process.exit(1); });
`;

/** Runs `node -e <script> args…` under a raised fd limit; resolves with its stdout lines. */
function runNode(script, args, { firstLineOnly = false, flags = [] } = {}) {
  const quoted = [process.execPath, ...flags, '-e', script, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`);
  const child = spawn('/bin/sh', ['-c', `ulimit -n 20000 && exec ${quoted.join(' ')}`], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (firstLineOnly && out.includes('\n')) resolve({ child, line: out.split('\n')[0] });
    });
    child.on('exit', (code) => (code === 0 || firstLineOnly ? resolve({ child, line: out.trim() }) : reject(new Error(`child exited ${code}`))));
  });
}

async function main() {
  const { child: server, line: port } = await runNode(SERVER, [], { firstLineOnly: true });
  const url = `ws://127.0.0.1:${port}/`;
  const results = {};
  try {
    for (const kind of ['ws', 'rws']) {
      const { line } = await runNode(CLIENT, [kind, url, String(CONNECTIONS)], { flags: ['--expose-gc'] });
      results[kind] = JSON.parse(line);
      console.log(`${kind}: ${(results[kind].perConnection / 1024).toFixed(1)} KiB RSS per idle connection`);
    }
  } finally {
    server.kill();
  }
  const ratio = results.rws.perConnection / results.ws.perConnection;
  const md = [
    `# Idle connections — ${new Date().toISOString()}`,
    '',
    `${os.cpus()[0].model} ×${os.cpus().length}, Node ${process.version}; ${CONNECTIONS} connections per client, each client in its own process, ws server in a third`,
    '',
    '| client | RSS growth per idle connection | ratio rws/ws | SPEC target |',
    '|---|---|---|---|',
    `| ws | ${(results.ws.perConnection / 1024).toFixed(1)} KiB | | |`,
    `| resilient-ws (heartbeat, in-memory outbox) | ${(results.rws.perConnection / 1024).toFixed(1)} KiB | ${ratio.toFixed(2)}× | ≤ 0.5× — ${ratio <= 0.5 ? 'met' : '**missed**'} |`,
    '',
  ].join('\n');
  fs.mkdirSync(path.join(__dirname, 'results'), { recursive: true });
  fs.writeFileSync(path.join(__dirname, 'results', 'idle-memory.json'), JSON.stringify({ connections: CONNECTIONS, results, ratio }, null, 2));
  fs.writeFileSync(path.join(__dirname, 'results', 'idle-memory.md'), md);
  console.log(`\n${md}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
