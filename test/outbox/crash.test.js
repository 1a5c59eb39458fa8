'use strict';

// kill -9 rounds: a child process streams 10,000 durable
// sends through a file outbox and is killed with SIGKILL at a random moment; a second process
// opens the same directory and delivers what was left. Per round, what the server received
// must satisfy at-least-once for every resolved send, exactly-once after dedupe by key, the
// original order, and nothing that was never sent. Half of the rounds send to a server that is
// down (everything stays queued on disk), half to a live one (the kill lands while messages
// are on the wire and delivered-marks are buffered).
//
// RWS_CRASH_SEED=<n> replays a run (the seed is printed with every verdict).

const fs = require('fs');
const path = require('path');
const { startWsServer } = require('../helpers/servers');
const { waitFor, withDeadline } = require('../helpers/deadline');
const { makeTracker, refusedUrl, runFixture, jsonLines, arrivalRecorder } = require('./support');

const COUNT = 10000;
const ROUNDS = 12;
// The kill comes when the child's log has grown to a random fraction of its final size (about
// 7 bytes per resolved send), so kills land before, during and after the stream whatever the
// speed of the machine.
const FULL_LOG_BYTES = COUNT * 7;
const baseSeed = Number(process.env.RWS_CRASH_SEED) || (Date.now() % 1000000);

const t = makeTracker();
afterEach(() => t.cleanup());

const verdicts = [];
afterAll(() => {
  if (verdicts.length) console.log(`kill -9 rounds (seed ${baseSeed}):\n${verdicts.join('\n')}`);
});

/** mulberry32: seeded per round so a failing round can be replayed; adjacent seeds diverge. */
function prng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = s;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** Parses the child's log: what it called send() for, what resolved, what rejected. */
function parseSenderLog(text) {
  const resolved = new Set();
  const rejected = new Set();
  let called = -1;
  let done = false;
  for (const line of text.split('\n')) {
    const [tag, n] = line.split(' ');
    if (tag === 'C') called = Math.max(called, Number(n));
    else if (tag === 'R') resolved.add(Number(n));
    else if (tag === 'X') rejected.add(Number(n));
    else if (tag === 'DONE') done = true;
  }
  return { called, resolved, rejected, done };
}

/**
 * The verdict of one round.
 *
 * @param {Array<{text: string}>} arrivals every message the server received, in arrival order
 * @param {ReturnType<typeof parseSenderLog>} sent
 * @returns {{problems: string[], unique: number, duplicates: number}}
 */
function judge(arrivals, sent) {
  const problems = [];
  const problem = (text) => { if (problems.length < 10) problems.push(text); };
  const keyToSeq = new Map();
  const seqToKey = new Map();
  const firstArrivalOrder = [];
  let duplicates = 0;
  for (const { text } of arrivals) {
    let msg;
    try { msg = JSON.parse(text); } catch { msg = null; }
    if (!msg || typeof msg.key !== 'string' || !Number.isInteger(msg.seq)) {
      problem(`unexpected message ${JSON.stringify(text).slice(0, 80)}`);
      continue;
    }
    if (msg.seq < 0 || msg.seq > sent.called) problem(`seq ${msg.seq} arrived but send() was never called for it`);
    if (sent.rejected.has(msg.seq)) problem(`seq ${msg.seq} arrived although its send() was rejected`);
    if (keyToSeq.has(msg.key)) {
      if (keyToSeq.get(msg.key) !== msg.seq) problem(`key ${msg.key} carried seq ${keyToSeq.get(msg.key)} and ${msg.seq}`);
      duplicates += 1;
      continue;
    }
    keyToSeq.set(msg.key, msg.seq);
    if (seqToKey.has(msg.seq)) problem(`seq ${msg.seq} arrived under two keys (${seqToKey.get(msg.seq)}, ${msg.key}): not exactly once after dedupe`);
    seqToKey.set(msg.seq, msg.key);
    firstArrivalOrder.push(msg.seq);
  }
  for (let i = 1; i < firstArrivalOrder.length; i++) {
    if (firstArrivalOrder[i] <= firstArrivalOrder[i - 1]) {
      problem(`order broken: seq ${firstArrivalOrder[i]} first arrived after seq ${firstArrivalOrder[i - 1]}`);
    }
  }
  // The outbox is a FIFO and a batch is written with one write(), so what survived a kill is a
  // prefix of the calls: no holes.
  firstArrivalOrder.forEach((seq, i) => { if (seq !== i) problem(`hole: position ${i} holds seq ${seq}`); });
  for (const seq of sent.resolved) {
    if (!seqToKey.has(seq)) problem(`seq ${seq} was resolved (persisted) but never reached the server`);
  }
  return { problems, unique: firstArrivalOrder.length, duplicates };
}

test('the verdict itself fails on loss, reordering, a second key, strangers and rejected sends', () => {
  const sent = { called: 3, resolved: new Set([0, 1, 2]), rejected: new Set([3]), done: false };
  const m = (seq, key = `k${seq}`) => ({ text: JSON.stringify({ key, seq }) });
  expect(judge([m(0), m(1), m(1), m(2)], sent).problems).toEqual([]);
  expect(judge([m(0), m(1), m(1), m(2)], sent).duplicates).toBe(1);
  expect(judge([m(0), m(2)], sent).problems.join()).toMatch(/seq 1 was resolved .* never reached/);
  expect(judge([m(0), m(2), m(1)], sent).problems.join()).toMatch(/order broken/);
  expect(judge([m(0), m(1), m(1, 'other'), m(2)], sent).problems.join()).toMatch(/two keys/);
  expect(judge([m(0), m(1), m(2), m(9)], sent).problems.join()).toMatch(/never called/);
  expect(judge([m(0), m(1), m(2), m(3)], sent).problems.join()).toMatch(/was rejected/);
  expect(judge([m(0), m(1), m(2), { text: 'hello' }], sent).problems.join()).toMatch(/unexpected message/);
});

for (let round = 1; round <= ROUNDS; round++) {
  const kind = round % 2 === 1 ? 'DOWN' : 'UP';
  test(`kill -9 round ${round} (server ${kind} while sending): every resolved send delivered once after dedupe, in order`, async () => {
    const seed = baseSeed * 100 + round;
    const random = prng(seed);
    const rec = arrivalRecorder();
    const server = t.add(await startWsServer({ echo: false, onConnection: rec.onConnection }));
    const dir = path.join(t.tempDir('crash'), 'outbox');
    const log = `${dir}.log`;
    const sendUrl = kind === 'UP' ? server.url : await refusedUrl();

    const sender = runFixture('durable-sender.js', { url: sendUrl, dir, log, count: COUNT, seed });
    t.child(sender.child);
    await waitFor(() => sender.stdout().includes('ready') || sender.child.exitCode !== null, 10000, 'the sender to start');
    const fraction = random() * 1.1;
    const started = Date.now();
    await waitFor(() => {
      let size = 0;
      try { size = fs.statSync(log).size; } catch { /* not created yet */ }
      if (size >= fraction * FULL_LOG_BYTES || sender.child.exitCode !== null || Date.now() - started > 5000) return true;
      // A kill point past the end: kill once everything settled (the child then idles).
      return size > 0.9 * FULL_LOG_BYTES && fs.readFileSync(log, 'latin1').endsWith('DONE\n');
    }, 10000, 'the kill point');
    const killDelay = Date.now() - started;
    sender.child.kill('SIGKILL');
    const { signal } = await withDeadline(sender.exited, 5000, 'the killed sender to exit');
    expect(signal).toBe('SIGKILL'); // it was still running: the kill is what ended it
    const sent = parseSenderLog(fs.readFileSync(log, 'utf8'));
    const connectionsBeforeRestart = rec.connections();

    const reopen = runFixture('drain-outbox.js', { url: server.url, dir, timeoutMs: 20000 });
    t.child(reopen.child);
    const { code } = await withDeadline(reopen.exited, 30000, 'the second process to drain');
    const [result] = jsonLines(reopen.stdout());
    const verdict = judge(rec.arrivals, sent);
    const afterRestart = rec.arrivals.filter((a) => a.connection > connectionsBeforeRestart).length;

    const line = `round ${String(round).padStart(2)} [${kind.padEnd(4)}] seed ${seed} killed at ${String(Math.round(fraction * 100)).padStart(3)}% (+${String(killDelay).padStart(4)} ms): ` +
      `called ${sent.called + 1}, resolved ${sent.resolved.size}${sent.done ? ' (all)' : ''}, ` +
      `arrived from the killed process ${rec.arrivals.length - afterRestart}, from the second ${afterRestart}, ` +
      `unique ${verdict.unique} (+${verdict.duplicates} dup) → ` +
      `${code === 0 && verdict.problems.length === 0 ? 'PASS' : `FAIL: ${[result && result.error, ...verdict.problems].filter(Boolean).join('; ')}`}`;
    verdicts.push(line);

    expect({ exit: code, result, stderr: reopen.stderr() }).toEqual({
      exit: 0, result: expect.objectContaining({ drained: true }), stderr: '',
    });
    expect(verdict.problems).toEqual([]);
    // Every call that made it to disk went out: after the drain nothing may be left behind.
    expect(verdict.unique).toBeGreaterThanOrEqual(sent.resolved.size);
  });
}
