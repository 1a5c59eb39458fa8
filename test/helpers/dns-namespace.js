'use strict';

// Runs a fixture script in a private mount + network namespace (unshare, root) whose
// /etc/resolv.conf points at 127.0.0.1:53, where the fixture plays the DNS server itself: one
// that swallows every query, or one that answers and counts them.

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn, spawnSync } = require('child_process');

/** Why these tests cannot run here, or null. */
function unavailableReason() {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  const r = spawnSync('unshare', ['--mount', '--net', 'true'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return `\`unshare --mount --net\` refused (needs root): ${r.stderr || r.error}`;
  return null;
}

/**
 * Runs `fixture` with `args` in its namespace (loopback up, resolv.conf bound over the real one).
 * @param {string} fixture script path
 * @param {string[]} args
 * @param {{resolvOptions?: string, killAfterMs?: number}} [opts] resolv.conf `options` line
 * @returns {Promise<{code: number|null, signal: string|null, lines: object[], err: string,
 *   exitAfterLeaving: number}>} its JSON stdout lines, stderr, and how long it took to exit after
 *   its first line saying it was leaving (`"leaving"`, `"terminated"` or `"closed"`)
 */
function runInDnsNamespace(fixture, args, { resolvOptions = '', killAfterMs = 60000 } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rws-dns-'));
  fs.writeFileSync(path.join(dir, 'resolv.conf'), `nameserver 127.0.0.1\n${resolvOptions ? `options ${resolvOptions}\n` : ''}`);
  const script = `ip link set lo up && mount --bind ${dir}/resolv.conf /etc/resolv.conf && exec "$0" "$@"`;
  const child = spawn('unshare', ['--mount', '--net', 'sh', '-c', script, process.execPath, fixture, ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  const started = Date.now();
  let leftAt = 0;
  child.stdout.on('data', () => { if (!leftAt && /"leaving"|"terminated"|"closed"/.test(out)) leftAt = Date.now(); });
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('exit', (code, signal) => {
      clearTimeout(kill);
      fs.rmSync(dir, { recursive: true, force: true });
      const lines = out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
      resolve({ code, signal, lines, err, exitAfterLeaving: Date.now() - (leftAt || started) });
    });
  });
}

module.exports = { unavailableReason, runInDnsNamespace };
