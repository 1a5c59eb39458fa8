'use strict';

// Regression (review r1): `new ResilientSocket('ws://127.0.0.1:0/')` used to get past option
// validation and take the process down from the io thread. Port 0 can never reach a server, so
// the constructor must throw an ERR_INVALID_OPTION naming the offending URL, synchronously, and
// leave nothing behind. Each case runs in a child process: a native crash then fails this test
// instead of killing the Jest worker, and a half-built socket that held the process would show
// up as a child that never exits.

const { spawn } = require('child_process');
const { withDeadline } = require('../helpers/deadline');
const { REPO } = require('./support');

const EXIT_MS = 15000; // node start-up plus the addon on a loaded machine

// Constructs a socket for each case (all options that would make it act at once), prints one
// JSON line per case, stays alive a little so a crash on the io thread has time to happen,
// then says 'alive' and lets the process end by itself.
const CHILD_SOURCE = `
const { ResilientSocket } = require(${JSON.stringify(`${REPO}/lib`)});
const cases = JSON.parse(process.argv[1]);
for (const c of cases) {
  const url = c.asUrlObject ? new URL(c.url) : c.url;
  try {
    const s = new ResilientSocket(url, { reconnect: false });
    s.on('failed', () => {});
    s.on('error', () => {});
    console.log(JSON.stringify({ label: c.label, constructed: true }));
    s.close();
  } catch (err) {
    console.log(JSON.stringify({ label: c.label, name: err.name, code: err.code, message: err.message }));
  }
}
setTimeout(() => console.log('alive'), 500);
`;

/** Runs CHILD_SOURCE on `cases`; resolves with its exit and parsed output. */
async function runCases(cases) {
  const child = spawn(process.execPath, ['-e', CHILD_SOURCE, JSON.stringify(cases)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
  child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  try {
    const result = await withDeadline(exited, EXIT_MS, 'the child to exit by itself');
    const lines = stdout.split('\n').filter(Boolean);
    return { ...result, stderr, results: lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)), alive: lines.includes('alive') };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

test('a port-0 URL throws ERR_INVALID_OPTION naming the url; no crash, and the process exits by itself', async () => {
  const cases = [
    { label: 'string', url: 'ws://127.0.0.1:0/' },
    { label: 'leading zeros', url: 'ws://127.0.0.1:000/' },
    { label: 'ipv6', url: 'ws://[::1]:0/feed' },
    { label: 'URL object', url: 'ws://localhost:0/', asUrlObject: true },
    { label: 'credentials', url: 'wss://user:s3cret@example.invalid:0/x' },
  ];
  const run = await runCases(cases);
  // A crash (abort, segfault) would end the child with a signal or a non-zero code.
  expect({ code: run.code, signal: run.signal, stderr: run.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
  expect(run.alive).toBe(true);
  expect(run.results.map((r) => r.label)).toEqual(cases.map((c) => c.label));
  for (const r of run.results) {
    expect(r.constructed).toBeUndefined();
    expect(['RangeError', 'TypeError']).toContain(r.name);
    expect(r.code).toBe('ERR_INVALID_OPTION');
    // Names the url argument and says what is wrong with it (lib/ words it "url has port 0";
    // the addon's own check, a second line of defence, "url '<url>' has an invalid port").
    expect(r.message).toMatch(/\burl\b/);
    expect(r.message).toMatch(/port/);
    expect(r.message).not.toContain('s3cret');
  }
});

test('in a list of URLs the message names the one with port 0', async () => {
  const run = await runCases([{ label: 'list', url: ['ws://127.0.0.1:1/', 'ws://127.0.0.1:0/'] }]);
  expect({ code: run.code, signal: run.signal, stderr: run.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
  expect(run.results).toEqual([
    { label: 'list', name: expect.stringMatching(/^(RangeError|TypeError)$/), code: 'ERR_INVALID_OPTION', message: expect.stringMatching(/url\[1\].*port|127\.0\.0\.1:0\/.*port/) },
  ]);
});
