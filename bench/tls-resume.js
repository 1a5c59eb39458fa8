'use strict';

// Time to reopen a wss:// connection after the server drops it, with TLS session resumption
// (the server accepts the session the client offers) and without (the server keeps no session
// state and issues no tickets, so every reconnect is a full handshake). The server runs in its
// own process; it drops the connection right after each open, the client reconnects at once
// (reconnect delay 0–1 ms), and we time `disconnect` → `open`. The server reports how many
// handshakes were resumptions, so the two runs are what they say they are.
//
//   node bench/tls-resume.js [rounds=200]

const { spawn } = require('child_process');
const path = require('path');
const { makeCerts } = require('../test/helpers/certs');
const { ResilientSocket } = require('../lib');
const { once } = require('./util');

const rounds = Number(process.argv[2] || 200);

const SERVER = `
const https = require('https');
const { WebSocketServer } = require(${JSON.stringify(require.resolve('ws'))});
const [cert, key, resume] = JSON.parse(process.argv[1]);
const options = { cert, key, minVersion: 'TLSv1.3' };
if (!resume) Object.assign(options, { sessionTimeout: 0, secureOptions: require('constants').SSL_OP_NO_TICKET });
const server = https.createServer(options);
const wss = new WebSocketServer({ server });
let resumed = 0, total = 0;
wss.on('connection', (ws, req) => {
  total++;
  if (req.socket.isSessionReused()) resumed++;
  ws.on('message', () => ws.terminate()); // the client's ping-message: drop it now
});
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
process.stdin.on('data', () => process.stdout.write(JSON.stringify({ resumed, total }) + '\\n'));
process.stdin.on('end', () => process.exit(0));
`;

async function measure(certs, resume) {
  const child = spawn(process.execPath, ['-e', SERVER, JSON.stringify([certs.valid.cert, certs.valid.key, resume])],
    { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = [];
  let waiting = null;
  child.stdout.setEncoding('utf8').on('data', (d) => {
    lines.push(...d.trim().split('\n'));
    if (waiting) waiting();
  });
  const nextLine = () => (lines.length ? Promise.resolve(lines.shift())
    : new Promise((resolve) => { waiting = () => { waiting = null; resolve(lines.shift()); }; }));
  const port = Number(await nextLine());
  const sock = new ResilientSocket(`wss://localhost:${port}/`, {
    tls: { ca: certs.ca.cert },
    reconnect: { initialDelay: 1, maxDelay: 1 },
    heartbeat: false,
  });
  const times = [];
  await once(sock, 'open', 10000);
  for (let i = 0; i < rounds; i++) {
    // A message makes the server drop us (and makes sure TLS 1.3 tickets were read first).
    let start = 0n;
    sock.once('disconnect', () => { start = process.hrtime.bigint(); });
    const reopened = once(sock, 'open', 10000);
    sock.send('drop me').catch(() => {});
    await reopened;
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  await sock.close();
  child.stdin.write('report\n');
  const report = JSON.parse(await nextLine());
  child.stdin.end();
  times.sort((a, b) => a - b);
  const pct = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
  return { p50: pct(0.5), p90: pct(0.9), ...report };
}

(async () => {
  const certs = await makeCerts();
  try {
    const full = await measure(certs, false);
    const resumed = await measure(certs, true);
    const row = (label, r) => console.log(`| ${label} | ${r.p50.toFixed(2)} ms | ${r.p90.toFixed(2)} ms | ${r.resumed} of ${r.total} |`);
    console.log(`wss:// reopen after a drop, ${rounds} rounds, TLS 1.3, server in its own process`);
    console.log('| handshake | p50 disconnect → open | p90 | resumed handshakes (server) |\n|---|---|---|---|');
    row('full (server keeps no sessions)', full);
    row('resumed', resumed);
    console.log(`resumption: p50 ${(resumed.p50 / full.p50).toFixed(2)}× of the full-handshake time`);
  } finally {
    certs.cleanup();
  }
})();
