'use strict';

// Regression (review r7): the resume position stored beside the outbox (<path>/last-event-id)
// used to be the newest id the io thread had parsed, not the newest one JavaScript had received.
// With a slow 'message' handler thousands of events wait for JavaScript; a process killed (or a
// worker terminated) then left an id far ahead of what the application had seen, and the next
// process resumed after it: those events were lost for good. The stored id must never be ahead
// of the last id the application's handler saw, and the next process resumes right after it.

const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');
const { WebSocketServer } = require('ws');
const { withDeadline, waitFor } = require('../helpers/deadline');
const { makeTracker, afterParam } = require('./support');

const CHILD = path.join(__dirname, 'fixtures', 'slow-handler.js');
const t = makeTracker();
afterEach(() => t.cleanup());

/** A temporary outbox directory, removed after the test. */
function tempDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rws-delivered-'));
  t.add({ close: () => fs.rmSync(dir, { recursive: true, force: true }) });
  return dir;
}

/** The id stored in the outbox directory, or null when there is none yet. */
function storedId(dir) {
  try {
    const text = fs.readFileSync(path.join(dir, 'last-event-id'), 'utf8');
    expect(text).toMatch(/^\d+$/);
    return Number(text);
  } catch (err) {
    if (err.code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * The stored id may lag (it is written for whole batches JavaScript has finished, at most every
 * 100 ms), or still be the previous round's when no batch of this round finished yet; it may
 * never be ahead of the last id the handler saw.
 */
function expectNotAhead(stored, previousStored, seen) {
  if (stored === previousStored) return;
  expect(stored).not.toBeNull();
  expect(stored).toBeLessThanOrEqual(seen);
}

/** Not vacuous: some round did store a position. */
function expectSomethingStored(rounds) {
  expect(rounds.some((r) => r.stored !== null && Number(r.stored) > 0)).toBe(true);
}

/**
 * A server that streams `{"id":n}` as fast as a 1 ms timer allows (50 per tick), starting after
 * the `after` query parameter: far faster than the child's 1 ms-per-event handler.
 * `log` holds per connection { after, sent }.
 */
async function startFastServer() {
  const httpServer = http.createServer();
  const wss = new WebSocketServer({ server: httpServer, perMessageDeflate: false });
  const log = [];
  wss.on('connection', (ws, req) => {
    const after = afterParam(req.url);
    const entry = { after, sent: 0 };
    log.push(entry);
    let id = after || 0;
    ws.on('error', () => {});
    const timer = setInterval(() => {
      if (ws.readyState !== ws.OPEN || entry.sent >= 500000) return;
      for (let i = 0; i < 50; i++) {
        ws.send(`{"id":${++id}}`);
        entry.sent += 1;
      }
    }, 1);
    ws.on('close', () => clearInterval(timer));
  });
  await new Promise((resolve) => httpServer.listen({ host: '127.0.0.1', port: 0 }, resolve));
  return {
    url: `ws://127.0.0.1:${httpServer.address().port}/`,
    log,
    async close() {
      for (const ws of wss.clients) ws.terminate();
      await new Promise((resolve) => wss.close(resolve));
      httpServer.closeAllConnections();
      await new Promise((resolve) => httpServer.close(resolve));
    },
  };
}

/** Runs the fixture; parses `open`/`id` lines and JSON lines as they come. */
function startChild(args) {
  const child = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const run = { ids: [], opens: [], json: [], stderr: '' };
  let buffer = '';
  child.stdout.setEncoding('utf8').on('data', (d) => {
    buffer += d;
    let nl;
    while ((nl = buffer.indexOf('\n')) !== -1) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (line.startsWith('{')) run.json.push(JSON.parse(line));
      else if (line.startsWith('id ')) run.ids.push(Number(line.slice(3)));
      else if (line.startsWith('open ')) run.opens.push(line.slice(5));
    }
  });
  child.stderr.setEncoding('utf8').on('data', (d) => { run.stderr += d; });
  run.exited = new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  run.lastId = () => (run.ids.length ? run.ids[run.ids.length - 1] : 0);
  run.describe = () => `ids ${run.ids.length} (last ${run.lastId()}), opens [${run.opens}], stderr: ${run.stderr.slice(0, 500)}`;
  run.kill = () => {
    child.kill('SIGKILL');
    return withDeadline(run.exited, 10000, 'the killed child to exit');
  };
  t.add({ close: () => (child.exitCode === null && child.signalCode === null ? run.kill() : undefined) });
  return run;
}

test('SIGKILL with events still queued for JavaScript: the stored id is never ahead of the last one the handler saw; the next process resumes right after it', async () => {
  const server = t.add(await startFastServer());
  const dir = tempDir();
  let previousStored = null;
  const rounds = [];
  for (let round = 0; round < 3; round++) {
    const child = startChild(['process', server.url, dir]);
    await waitFor(() => {
      if (child.ids.length >= 200) return true;
      throw new Error(child.describe());
    }, 20000, `round ${round}: 200 events handled`);
    // Kill at a different point of the 100 ms persistence cycle each round.
    await new Promise((resolve) => setTimeout(resolve, 150 + round * 170));
    const sentAtKill = server.log[server.log.length - 1].sent;
    expect((await child.kill()).signal).toBe('SIGKILL');
    const seen = child.lastId();
    const stored = storedId(dir);
    rounds.push({ seen, stored, sent: sentAtKill, first: child.ids[0] });

    // The scenario: far more was sent (and parsed by the io thread) than the handler had seen.
    expect(sentAtKill - (child.ids[0] - 1)).toBeGreaterThan(child.ids.length + 1000);
    expectNotAhead(stored, previousStored, seen);
    // This process resumed where the previous one's stored id said, with no gap.
    expect(child.opens[0]).toBe(previousStored === null ? '-' : String(previousStored));
    expect(server.log[round].after).toBe(previousStored);
    expect(child.ids[0]).toBe((previousStored || 0) + 1);
    previousStored = stored;
  }
  expectSomethingStored(rounds);
  console.log(`kill -9 rounds (handler's last id / stored id / ids sent to that process): ${rounds.map((r) => `${r.seen}/${r.stored}/${r.sent + r.first - 1}`).join(', ')}`);
}, 60000);

test('worker terminated with events still queued for JavaScript: the stored id is never ahead of the last one the handler saw', async () => {
  const server = t.add(await startFastServer());
  const dir = tempDir();
  let previousStored = null;
  const rounds = [];
  for (let round = 0; round < 3; round++) {
    const child = startChild(['worker', server.url, dir, String(200 + (previousStored || 0)), String(100 + round * 170)]);
    const exited = await withDeadline(child.exited, 30000, `round ${round}: the child to terminate its worker and exit`);
    expect({ ...exited, stderr: child.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
    expect(child.json).toHaveLength(1);
    const result = child.json[0];
    expect(result.error).toBeUndefined();
    const stored = result.stored === null ? null : Number(result.stored);
    rounds.push({ ...result, sent: server.log[round].sent });

    expectNotAhead(stored, previousStored, result.seen);
    expect(result.resumedFrom).toBe(previousStored);
    expect(result.first).toBe((previousStored || 0) + 1);
    previousStored = stored;
  }
  expectSomethingStored(rounds);
  console.log(`worker rounds (handler's last id / stored id / ids sent to that worker): ${rounds.map((r) => `${r.seen}/${r.stored}/${r.sent + r.first - 1}`).join(', ')}`);
}, 90000);
