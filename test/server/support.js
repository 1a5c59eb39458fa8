'use strict';

// Real components for the server companion's tests: a redis-server (Debian package) on a free
// port, a real nginx balancing two upstreams, and small helpers. Everything a helper starts, its
// stop() ends (by pid) and every temp dir it creates, stop() removes.

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn, execFileSync } = require('child_process');
const { waitFor, withDeadline } = require('../helpers/deadline');

const REDIS_SERVER = '/usr/bin/redis-server';
const { NGINX, runNginx } = require('../nginx/support');

/** @returns {boolean} redis-server and the ioredis client are both usable */
function redisAvailable() {
  if (!fs.existsSync(REDIS_SERVER)) return false;
  try {
    require.resolve('ioredis');
    return true;
  } catch {
    return false;
  }
}

/** One line for a skipped Redis suite. */
const redisSkipMessage = () => `SKIP: ${REDIS_SERVER} or the ioredis package is missing (apt-get install redis-server; npm install)`;

const { freePort, accepts } = require('../helpers/ports');

/** Resolves once `child` has exited (at once if it already has). */
function exited(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Starts redis-server on a free port, its data in a fresh temp dir.
 *
 * @param {{ aof?: boolean }} [opts] aof: append-only file with fsync on every write, so a
 *   kill -9 and restart keeps every acknowledged write
 * @returns {Promise<{ port: number, url: string, kill: () => Promise<void>, start: () => Promise<void>, stop: () => Promise<void> }>}
 */
async function startRedis(opts = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rws-redis-'));
  const port = await freePort();
  let child = null;
  let log = '';
  const args = () => ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '',
    '--daemonize', 'no', '--logfile', '',
    ...(opts.aof ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'])];

  const start = async () => {
    child = spawn(REDIS_SERVER, args(), { stdio: ['ignore', 'pipe', 'pipe'] });
    const c = child;
    c.stdout.on('data', (d) => { if (log.length < 65536) log += d; });
    c.stderr.on('data', (d) => { if (log.length < 65536) log += d; });
    await waitFor(async () => {
      if (c.exitCode !== null) throw new Error(`redis-server exited: ${log.slice(-2000)}`);
      return accepts(port);
    }, 10000, `redis-server to accept on 127.0.0.1:${port}`);
  };
  /** kill -9: no shutdown, no final save. */
  const kill = async () => {
    if (!child) return;
    const c = child;
    child = null;
    c.kill('SIGKILL');
    await withDeadline(exited(c), 5000, 'redis-server to exit after SIGKILL');
  };
  const stop = async () => {
    await kill();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  await start();
  return { port, url: `redis://127.0.0.1:${port}`, kill, start, stop, log: () => log };
}

/**
 * Starts nginx (foreground, no master, files in a temp dir) balancing WebSocket upgrades over
 * `upstreamPorts`. A refused connection moves on to the next upstream at once (proxy_next_upstream
 * error), so a dead node costs a client one fast retry, not a timeout.
 *
 * @param {{ upstreamPorts: number[] }} opts
 * @returns {Promise<{ port: number, url: (p?: string) => string, stop: () => Promise<void>, errorLog: () => string }>}
 */
async function startBalancer({ upstreamPorts }) {
  // Not rws-nginx-: test/nginx counts those processes.
  return runNginx('rws-lb-', 256, (port) => `
  upstream nodes {
${upstreamPorts.map((u) => `    server 127.0.0.1:${u} max_fails=1 fail_timeout=2s;`).join('\n')}
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://nodes;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_connect_timeout 2s;
      proxy_next_upstream error timeout;
      proxy_read_timeout 60s;
    }
  }`);
}

/** @returns {boolean} whether nginx can be run */
function nginxAvailable() {
  try {
    execFileSync(NGINX, ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Checks that `ids` (numbers, in delivery order) are exactly `from, from+1, …, to`.
 *
 * @returns {{ missing: number, duplicates: number, outOfOrder: number }}
 */
function sequenceReport(ids, from, to) {
  const seen = new Set();
  let duplicates = 0;
  let outOfOrder = 0;
  for (let i = 0; i < ids.length; i++) {
    if (seen.has(ids[i])) duplicates += 1;
    seen.add(ids[i]);
    if (i > 0 && ids[i] <= ids[i - 1]) outOfOrder += 1;
  }
  let missing = 0;
  for (let id = from; id <= to; id++) if (!seen.has(id)) missing += 1;
  return { missing, duplicates, outOfOrder };
}

module.exports = {
  REDIS_SERVER, redisAvailable, redisSkipMessage, startRedis, startBalancer, nginxAvailable, freePort,
  accepts, exited, sequenceReport,
};
