'use strict';

// Dual stack: `localhost` resolves to ::1 and 127.0.0.1. IPv6 goes first; when
// it refuses, IPv4 follows at once; when it silently drops SYNs, IPv4 starts 250 ms later and
// wins — not after the whole connect timeout. The child runs in a private mount namespace with
// its own /etc/hosts (unshare; root), so the machine's resolver configuration does not matter.

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn, spawnSync } = require('child_process');

const FIXTURE = path.join(__dirname, 'fixtures', 'dual-stack.js');

function unavailableReason() {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  const r = spawnSync('unshare', ['--mount', 'true'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return `\`unshare --mount\` refused (needs root): ${r.stderr || r.error}`;
  const v6 = spawnSync('/usr/bin/python3', ['-c', 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1",0))']);
  if (v6.status !== 0) return 'no IPv6 loopback (::1) on this machine';
  return null;
}

const why = unavailableReason();
if (why) console.log(`dual-stack tests skipped: ${why}`);
const maybe = why ? test.skip : test;

let dir;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rws-hosts-'));
  fs.writeFileSync(path.join(dir, 'hosts'), '::1 localhost\n127.0.0.1 localhost\n');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function run(mode) {
  const script = `mount --bind ${dir}/hosts /etc/hosts && exec "$0" "$@"`;
  const child = spawn('unshare', ['--mount', 'sh', '-c', script, process.execPath, FIXTURE, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 20000);
    child.on('exit', (code) => {
      clearTimeout(kill);
      resolve({ code, err, result: out.trim() ? JSON.parse(out.trim().split('\n').pop()) : null });
    });
  });
}

maybe('IPv6 refuses: IPv4 is tried at once', async () => {
  const r = await run('v6-refused');
  expect(r.err).toBe('');
  expect(r.result.remoteFamily).toBe('IPv4');
  expect(r.result.ms).toBeLessThan(1000);
}, 30000);

maybe('IPv6 silently drops: IPv4 starts after 250 ms and wins, long before the connect timeout', async () => {
  const r = await run('v6-blackhole');
  expect(r.err).toBe('');
  expect(r.result.remoteFamily).toBe('IPv4');
  expect(r.result.ms).toBeGreaterThanOrEqual(240);
  expect(r.result.ms).toBeLessThan(3000); // connectTimeout is 10 s
}, 30000);

maybe('IPv4 refuses: IPv6 (tried first) connects', async () => {
  const r = await run('v4-refused');
  expect(r.err).toBe('');
  expect(r.result.remoteFamily).toBe('IPv6');
}, 30000);
