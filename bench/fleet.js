'use strict';
// Opening a fleet: many sockets to one service, resilient-ws next to `ws`. Each client opens
// `count` connections in steps of 200 in a fresh process of its own (bench/idle-client.js,
// library defaults), alternating ws, rws, ws, rws, … for `rounds` rounds, against far ends in
// processes of their own:
//   - ws://localhost:<port>/idle: a host name, so each attempt looks it up
//     (bench/frame-server.js);
//   - wss://localhost:<port>/: TLS, trusting a CA of its own (`ca` for ws, `tls.ca` for
//     resilient-ws), served by a `ws` server over https.
// Per connection, median over rounds with [min–max]: the constructor's time, the client's CPU
// (every thread) from the first constructor until every connection was open, and RSS once
// settled (bench/idle-client.js). Ratios are rws / ws; lower is better for all three.
//
//   node bench/fleet.js [count=2000] [rounds=3]
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');
const { makeCerts } = require('../test/helpers/certs');
const { startFrameServer, nodeCommand, runJsonChild } = require('./util');

const count = Number(process.argv[2] || 2000);
const rounds = Number(process.argv[3] || 3);
const FD_LIMIT = count + 1024;
const CLIENT_TIMEOUT_MS = 180000;  // opening, then up to a minute of settling

const TLS_SERVER = `
const https = require('https');
const { WebSocketServer } = require(${JSON.stringify(require.resolve('ws'))});
const [cert, key] = JSON.parse(process.argv[1]);
const server = https.createServer({ cert, key });
new WebSocketServer({ server });
server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => process.stdout.write(server.address().port + '\\n'));
process.stdin.on('end', () => process.exit(0)); // never outlive the bench
process.stdin.resume();
`;

/** The https `ws` server, in its own process: its port and the child. */
function startTlsServer(certs) {
  const { file, args } = nodeCommand(['-e', TLS_SERVER, JSON.stringify([certs.valid.cert, certs.valid.key])], { fdLimit: FD_LIMIT });
  const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`TLS server exited early (code ${code})`)));
    child.stdout.setEncoding('utf8').once('data', (line) => resolve({ port: Number(line.trim()), child }));
  });
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const cell = (values, unit, digits) =>
  `${median(values).toFixed(digits)} ${unit} [${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}]`;

async function main() {
  const certs = await makeCerts();
  const caFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rws-fleet-')), 'ca.pem');
  fs.writeFileSync(caFile, certs.ca.cert);
  const frames = await startFrameServer({ fdLimit: FD_LIMIT });
  const tls = await startTlsServer(certs);
  const scenarios = [
    { name: `ws://localhost (a host name), ${count} sockets`, url: `ws://localhost:${frames.port}/idle`, ca: [] },
    { name: `wss://localhost (tls.ca), ${count} sockets`, url: `wss://localhost:${tls.port}/`, ca: [caFile] },
  ];
  const rows = [];
  const failures = [];
  try {
    for (const scenario of scenarios) {
      const results = { ws: [], rws: [] };
      for (let round = 0; round < rounds; round++) {
        for (const kind of ['ws', 'rws']) {
          const { file, args } = nodeCommand(
            ['--expose-gc', path.join(__dirname, 'idle-client.js'), kind, scenario.url, String(count), '1000', ...scenario.ca],
            { fdLimit: FD_LIMIT });
          try {
            const r = await runJsonChild(file, args, CLIENT_TIMEOUT_MS, `${kind} client`);
            if (!r.settled) throw new Error(`RSS did not settle within ${r.settledAfterMs} ms`);
            results[kind].push(r);
            process.stderr.write(`${scenario.name}, round ${round + 1}, ${kind}: ctor ${r.ctorUs.toFixed(1)} µs, ` +
              `open CPU ${r.openCpuUs.toFixed(1)} µs, RSS ${(r.settledRssPerConnection / 1024).toFixed(1)} KiB\n`);
          } catch (err) {
            failures.push(`${scenario.name}, round ${round + 1}, ${kind}: ${err.message}`);
          }
        }
      }
      const metrics = [
        ['constructor', (r) => r.ctorUs, 'µs', 1],
        ['client CPU from the first constructor until all were open', (r) => r.openCpuUs, 'µs', 1],
        ['RSS once settled', (r) => r.settledRssPerConnection / 1024, 'KiB', 1],
      ];
      for (const [label, pick, unit, digits] of metrics) {
        if (!results.ws.length || !results.rws.length) continue;
        const ws = results.ws.map(pick);
        const rws = results.rws.map(pick);
        rows.push(`| ${scenario.name}: ${label}, per connection | ${cell(ws, unit, digits)} | ${cell(rws, unit, digits)} | ` +
          `${(median(rws) / median(ws)).toFixed(2)}× |`);
      }
    }
  } finally {
    frames.child.kill();
    tls.child.kill();
    certs.cleanup();
    fs.rmSync(path.dirname(caFile), { recursive: true, force: true });
  }
  console.log(`| measure (${rounds} rounds, median [min–max]) | ws | resilient-ws | rws / ws (lower is better) |`);
  console.log('|---|---|---|---|');
  for (const row of rows) console.log(row);
  for (const f of failures) console.log(`- failed: ${f}`);
  process.exitCode = failures.length ? 1 : 0;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
