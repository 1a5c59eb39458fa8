'use strict';

// Whether a socket keeps its process alive, observed on real child processes:
// an open, connecting or reconnecting socket holds the process like a net.Socket; close(),
// unref(), a terminal failure or never connecting (autoConnect: false, no connect()) lets
// it exit by itself.

const path = require('path');
const { spawn } = require('child_process');
const { startWsServer } = require('../helpers/servers');
const { withDeadline, waitFor, quietPeriod } = require('../helpers/deadline');
const { makeTracker } = require('./support');
const { refusedPort } = require('../helpers/ports');

const FIXTURE = path.join(__dirname, 'fixtures', 'lifetime.js');
const EXIT_MS = 10000; // generous: node start-up on a loaded machine
const ALIVE_MS = 1500;

const t = makeTracker();
const children = new Set();

afterEach(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  await Promise.all([...children].map((c) => c.exited));
  children.clear();
  await t.cleanup();
});

/**
 * Starts the fixture in a child process.
 *
 * @param {string} mode
 * @param {string} url
 */
function runChild(mode, url, { ipc = false } = {}) {
  const child = spawn(process.execPath, [FIXTURE, mode, url], { stdio: ['ignore', 'pipe', 'pipe', ...(ipc ? ['ipc'] : [])] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
  child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
  child.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  children.add(child);
  return {
    child,
    exited: child.exited,
    stdout: () => stdout,
    stderr: () => stderr,
    /**
     * Waits until stdout has a line matching `pattern`. A timeout names what the child had
     * printed by then and whether it was still running.
     */
    line: (pattern, ms = EXIT_MS) => waitFor(() => {
      if (stdout.split('\n').some((l) => pattern.test(l))) return true;
      const state = child.exitCode !== null || child.signalCode !== null
        ? `exited (code ${child.exitCode}, signal ${child.signalCode})` : 'still running';
      throw new Error(`stdout: ${JSON.stringify(stdout)}, stderr: ${JSON.stringify(stderr)}, child ${state}`);
    }, ms, `child output ${pattern}`),
    alive: () => child.exitCode === null && child.signalCode === null,
  };
}

/** Expects the child to exit by itself with code 0 within the deadline. */
async function expectCleanExit(run, what) {
  const result = await withDeadline(run.exited, EXIT_MS, `the child to exit ${what}`);
  expect({ ...result, stderr: run.stderr() }).toEqual({ code: 0, signal: null, stderr: '' });
}

test('the process exits by itself after close()', async () => {
  const server = t.add(await startWsServer());
  const run = runChild('close-after-echo', server.url);
  await expectCleanExit(run, 'after close()');
  expect(run.stdout()).toBe('echo ping from child\nclosed\n');
  expect(server.connections).toHaveLength(1);
});

test('the process does not exit while a socket is open or reconnecting; unref() lets it exit', async () => {
  const server = t.add(await startWsServer());
  const port = await refusedPort();
  // Run side by side to share the waiting window.
  const open = runChild('stay-open', server.url);
  const retrying = runChild('reconnecting', `ws://127.0.0.1:${port}/`);
  const unrefd = runChild('unref-open', server.url);
  const later = runChild('connect-later', server.url);

  await open.line(/^open$/);
  await later.line(/^open$/);
  await retrying.line(/^reconnecting ERR_CONNECTION_REFUSED$/);
  await expectCleanExit(unrefd, 'after unref()');
  expect(unrefd.stdout()).toBe('open\n');

  await quietPeriod(ALIVE_MS); // the negative assertion: nothing may let these two go
  expect(open.alive()).toBe(true);
  expect(retrying.alive()).toBe(true);
  expect(later.alive()).toBe(true);
  expect(server.clientCount()).toBe(2); // both children's sockets are still connected

  const held = [open, retrying, later];
  for (const run of held) run.child.kill('SIGTERM');
  const results = await withDeadline(Promise.all(held.map((r) => r.exited)), EXIT_MS, 'SIGTERM to end the children');
  expect(results.map((r) => r.signal)).toEqual(['SIGTERM', 'SIGTERM', 'SIGTERM']);
});

test('with one socket held and one unref()d, the process lives until the held one closes', async () => {
  const server = t.add(await startWsServer());
  const run = runChild('held-and-unrefd', server.url, { ipc: true });
  await run.line(/^both open$/);
  await quietPeriod(ALIVE_MS); // the negative assertion: the held socket keeps it alive
  expect(run.alive()).toBe(true);
  run.child.send('close-now');
  await expectCleanExit(run, 'after the held socket closed');
  expect(run.stdout()).toBe('both open\nheld closed\n');
  await waitFor(() => server.clientCount() === 0, EXIT_MS, "the unref()'d socket to go with the process");
});

test('a socket that never connected (autoConnect: false) does not hold the process', async () => {
  const server = t.add(await startWsServer());
  const run = runChild('never-connected', server.url);
  await expectCleanExit(run, 'without ever connecting');
  expect(run.stdout()).toBe('state idle\n');
  expect(server.handshakes).toHaveLength(0);
});

test('a socket that failed (refused, reconnect: false) does not hold the process', async () => {
  const port = await refusedPort();
  const run = runChild('failed', `ws://127.0.0.1:${port}/`);
  await expectCleanExit(run, 'after the failure');
  expect(run.stdout()).toBe('failed ERR_CONNECTION_REFUSED\n');
});
