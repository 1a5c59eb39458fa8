'use strict';

// Resume across process restarts.
//
// The id file is written at most every 100 ms (grouped writes, session.cpp), so after kill -9 it
// may hold an id slightly older than the last one delivered: the next process then gets those
// few events again. Dedupe cannot cover that (its window is per process), so across a kill the
// assertions are "no gap" and "resumes from the stored id"; a clean close is exact.

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');
const { startReplayServer } = require('../helpers/replay-server');
const { startFaultProxy } = require('../helpers/fault-proxy');
const { withDeadline, waitFor } = require('../helpers/deadline');
const { makeTracker, sequenceProblem, afterParam } = require('./support');

const CHILD = path.join(__dirname, 'fixtures', 'resume-child.js');
const t = makeTracker();
afterEach(() => t.cleanup());

/** A temporary outbox directory, removed after the test. */
function tempDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rws-resume-'));
  t.add({ close: () => fs.rmSync(dir, { recursive: true, force: true }) });
  return dir;
}

/** The id stored in the outbox directory, or null when there is none yet. */
function storedId(dir) {
  try {
    const text = fs.readFileSync(path.join(dir, 'last-event-id'), 'utf8');
    expect(text).toMatch(/^\d+$/); // a whole id, never a torn write
    return Number(text);
  } catch (err) {
    if (err.code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * Starts resume-child.js and parses what it prints.
 *
 * @returns {{ids: number[], opens: string[], stored: () => string|undefined, lastId: () => number,
 *   close: () => Promise<{code: number|null, signal: string|null}>, kill: () => Promise<object>,
 *   exited: Promise<{code: number|null, signal: string|null}>, stderr: () => string,
 *   hasExited: () => boolean, wasClosed: () => boolean}}
 */
function startChild(url, dir) {
  const child = spawn(process.execPath, [CHILD, url, dir], { stdio: ['pipe', 'pipe', 'pipe'] });
  const ids = [];
  const opens = [];
  let stored;
  let closed = false;
  let buffer = '';
  const other = []; // diagnostic lines
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => { stderr += d; });
  child.stdin.on('error', () => {});
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d) => {
    buffer += d;
    let nl;
    while ((nl = buffer.indexOf('\n')) !== -1) {
      const [word, value] = buffer.slice(0, nl).split(' ');
      buffer = buffer.slice(nl + 1);
      if (word === 'id') ids.push(Number(value));
      else if (word === 'open') opens.push(value);
      else if (word === 'stored') stored = value;
      else if (word === 'closed') closed = true;
      else if (other.length < 50) other.push(`${word} ${value}`);
    }
  });
  let gone = false;
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => {
    gone = true;
    resolve({ code, signal });
  }));
  const handle = {
    ids,
    opens,
    exited,
    stored: () => stored,
    wasClosed: () => closed,
    stderr: () => stderr,
    hasExited: () => gone,
    describe: () => `${gone ? 'exited' : 'running'}; last id ${handle.lastId()}; opens [${opens}]; `
      + `log [${other.join(' | ')}]; stderr: ${stderr.slice(0, 500)}`,
    lastId: () => (ids.length ? ids[ids.length - 1] : 0),
    close() {
      child.stdin.end('close\n');
      return withDeadline(exited, 10000, 'the child to close and exit');
    },
    kill() {
      child.kill('SIGKILL');
      return withDeadline(exited, 10000, 'the killed child to exit');
    },
  };
  // Whatever happens in the test, no child outlives it.
  t.add({ close: () => (child.exitCode === null && child.signalCode === null ? handle.kill() : undefined) });
  return handle;
}

/** Waits until the child printed an id >= `id`. */
function childReached(c, id, what) {
  return waitFor(() => {
    if (c.lastId() >= id) return true;
    throw new Error(c.describe());
  }, 10000, what);
}

/** Waits for the child's first 'open'. */
function childOpened(c, what) {
  return waitFor(() => {
    if (c.opens.length >= 1) return true;
    throw new Error(c.describe());
  }, 20000, what); // a cold Node start plus the addon on a loaded machine
}

async function setup() {
  const server = t.add(await startReplayServer({ keep: 100000 }));
  const proxy = t.add(await startFaultProxy({ target: { port: server.port } }));
  return { server, proxy, dir: tempDir() };
}

test('clean close: the next process asks for ?after=<last delivered id> and gets exactly the next id', async () => {
  const { server, proxy, dir } = await setup();
  const first = startChild(proxy.url('/'), dir);
  await childOpened(first, 'the first child to open');
  expect(first.stored()).toBe('-');
  server.start(200);
  await childReached(first, 100, 'the first child to receive 100 events');
  expect(await first.close()).toEqual({ code: 0, signal: null });
  expect(first.wasClosed()).toBe(true);
  const last = first.lastId();
  expect(sequenceProblem(first.ids, 1, last)).toBe('');
  expect(storedId(dir)).toBe(last); // close() persists the very last id

  const second = startChild(proxy.url('/'), dir);
  await childReached(second, last + 50, 'the second child to catch up and go on');
  expect(second.stored()).toBe(String(last));
  expect(second.opens[0]).toBe(String(last));
  expect(afterParam(proxy.requests[1].target)).toBe(last);
  expect(server.log[1]).toMatchObject({ via: 'query', after: last });
  expect(second.ids[0]).toBe(last + 1);
  expect(sequenceProblem(second.ids, last + 1, second.lastId())).toBe('');
  expect(await second.close()).toEqual({ code: 0, signal: null });
  expect(storedId(dir)).toBe(second.lastId());
});

test('kill -9 at three moments: each next process resumes from the stored id, no gap across processes', async () => {
  const { server, proxy, dir } = await setup();
  let child = startChild(proxy.url('/'), dir);
  await childOpened(child, 'the first child to open');
  server.start(200);
  const seen = new Set(); // every id any process delivered
  let crossProcessRepeats = 0;
  let olderThanDelivered = 0;

  for (let round = 0; round < 3; round++) {
    await childReached(child, server.head + 40, `round ${round}: events flowing`);
    // The file is only ever replaced whole, and never moves backwards.
    const persistedBefore = await waitFor(() => storedId(dir), 5000, 'an id on disk');
    // Pause the stream so the child's own report of what it delivered is complete when it dies;
    // the kill itself still lands at a random point of the 100 ms persistence cycle.
    server.stop();
    const head = server.head;
    await childReached(child, head, `round ${round}: the child to deliver up to ${head}`);
    const killed = await child.kill();
    expect(killed.signal).toBe('SIGKILL');
    const stored = storedId(dir);
    expect(stored).not.toBeNull();
    expect(stored).toBeGreaterThanOrEqual(persistedBefore);
    expect(stored).toBeLessThanOrEqual(head); // never ahead of what was delivered
    if (stored < head) olderThanDelivered += 1;
    for (const id of child.ids) seen.add(id);

    const requestsBefore = proxy.requests.length;
    child = startChild(proxy.url('/'), dir);
    await childOpened(child, `round ${round}: the next child to open`);
    expect(child.stored()).toBe(String(stored));
    expect(child.opens[0]).toBe(String(stored));
    expect(afterParam(proxy.requests[requestsBefore].target)).toBe(stored);
    server.start(200);
    await childReached(child, head + 20, `round ${round}: the next child to catch up`);
    // No gap: it starts right after the stored id, which is at most the last one delivered.
    expect(child.ids[0]).toBe(stored + 1);
    crossProcessRepeats += head - stored;
  }
  expect(await child.close()).toEqual({ code: 0, signal: null });
  for (const id of child.ids) seen.add(id);
  const last = child.lastId();
  expect(storedId(dir)).toBe(last);
  expect(sequenceProblem([...seen].sort((a, b) => a - b), 1, last)).toBe('');
  expect(sequenceProblem(child.ids, child.ids[0], last)).toBe('');
  // Informational: the 100 ms grouping at work (events seen again by the next process).
  console.log(`kill -9 rounds: stored id behind the delivered one in ${olderThanDelivered}/3; ${crossProcessRepeats} events redelivered across processes`);
}, 60000);
