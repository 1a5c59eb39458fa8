'use strict';

// Disk work off the io thread (issue 8 item 3). One io thread serves every socket of a process,
// so an fdatasync on it stalled pongs, heartbeats and reads of all of them; the outbox's disk
// work now runs on its own disk worker.
// - A slow disk (strace delays every fdatasync by 2 s) under one socket's durable sends: a
//   neighbour socket with a 300/300 ms heartbeat stays open and keeps receiving pongs.
// - close() with a commit still on the slow disk, connected or offline, decides it; offline, the
//   heartbeats of a socket beside it go on meanwhile (that close waited on the io thread).
// - fsync 'none' means no fsync or fdatasync at all (log, directory, resume position).
// They need strace; without it they print one line and are skipped.

const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { startWsServer } = require('../helpers/servers');
const { withDeadline } = require('../helpers/deadline');
const { makeTracker, next, refusedUrl, runFixture, jsonLines } = require('./support');

const t = makeTracker();
afterEach(() => t.cleanup());

const haveStrace = spawnSync('strace', ['-V']).status === 0;

test('a 2 s fdatasync under one socket does not stall the heartbeat of another socket on the same io thread', async () => {
  if (!haveStrace) {
    console.log('SKIPPED slow-disk test: strace is not installed (apt-get install strace)');
    return;
  }
  const server = t.add(await startWsServer({ echo: false }));
  const dir = path.join(t.tempDir('slow-disk'), 'outbox');
  const stallMs = 4000;
  const run = runFixture('slow-disk-neighbour.js', { url: server.url, dir, stallMs, sendEveryMs: 50 }, {
    // Not `-e trace=none`: it silently disables the injection.
    prefix: ['strace', '-f', '-o', '/dev/null', '-e', 'trace=fdatasync', '-e', 'inject=fdatasync:delay_enter=2000000'],
  });
  t.child(run.child);
  const { code } = await withDeadline(run.exited, 45000, 'the fixture under strace');
  const lines = jsonLines(run.stdout());
  const stall = lines.find((l) => l.phase === 'stall');
  const closing = lines.find((l) => l.phase === 'close');
  const done = lines.find((l) => l.phase === 'done');
  expect({ code, stderr: run.stderr(), stall: Boolean(stall), closing: Boolean(closing), done: Boolean(done) })
    .toEqual({ code: 0, stderr: '', stall: true, closing: true, done: true });
  // The neighbour never lost its connection, and pongs kept arriving all through the stall:
  // at one ping per 300 ms a 4 s window holds ~13; half of that leaves room for a loaded
  // machine, while a stalled io thread gets at most one per 2 s fdatasync.
  expect(stall.disconnects).toEqual([]);
  expect(stall.heartbeats).toBeGreaterThanOrEqual(6);
  // The writer's close() waited for its commit on the slow disk (about one 2 s fdatasync, often
  // two) without holding the io thread: the neighbour kept its pongs through it too.
  expect(closing.disconnects).toEqual([]);
  expect(closing.ms).toBeGreaterThan(1000);
  expect(closing.heartbeats).toBeGreaterThanOrEqual(Math.floor(closing.ms / 300 / 2));
  expect(done.errors).toEqual([]);
  // Group commit still holds on the slow disk: every send resolved 'persisted' (sends accepted
  // while one 2 s fdatasync ran shared the next one).
  expect(done.receipts.length).toBe(stall.sends);
  expect(done.receipts.every((s) => s === 'persisted')).toBe(true);
}, 60000);

describe.each([['offline', false], ['connected', true]])('close() %s', (label, connected) => {
  test('while a slow group commit runs on the disk worker decides it: every send resolves persisted', async () => {
    if (!haveStrace) {
      console.log('SKIPPED close-during-sync test: strace is not installed (apt-get install strace)');
      return;
    }
    const dir = path.join(t.tempDir('close-during-sync'), 'outbox');
    const live = t.add(await startWsServer({ echo: false }));
    const url = connected ? live.url : await refusedUrl();
    const run = runFixture('close-during-sync.js', { url, dir, count: 5, waitOpen: connected }, {
      prefix: ['strace', '-f', '-o', '/dev/null', '-e', 'trace=fdatasync', '-e', 'inject=fdatasync:delay_enter=1000000'],
    });
    t.child(run.child);
    const { code, signal } = await withDeadline(run.exited, 30000, 'the fixture under strace');
    expect({ code, signal, stderr: run.stderr() }).toEqual({ code: 0, signal: null, stderr: '' });
    expect(jsonLines(run.stdout())).toEqual([{ receipts: Array(5).fill('persisted') }]);
    const numbers = (server) => server.connections.flatMap((c) => c.messages.map((m) => JSON.parse(m.data).n));
    if (connected) {
      // close() waited for the commit, then wrote them before its close frame.
      expect(numbers(live)).toEqual([0, 1, 2, 3, 4]);
      return;
    }
    // Offline: on disk, in order, for the next socket.
    const sock = t.socket(live.url, { heartbeat: false, outbox: { path: dir } });
    await next(sock, 'drain', 10000);
    await sock.close();
    expect(numbers(live)).toEqual([0, 1, 2, 3, 4]);
  }, 60000);
});

// Every way a socket with a file outbox ends waits for its disk on the disk worker, not on the io
// thread that every socket of the process shares.
describe.each([
  ['an offline close()', 'close'],
  ['a terminal failure (retries exhausted)', 'fail'],
  ["the server's close with reconnect: false", 'server-close'],
])('%s waits for its commits on the disk worker', (label, end) => {
  test("every send is decided, and a neighbour's heartbeats go on meanwhile", async () => {
    if (!haveStrace) {
      console.log(`SKIPPED slow-disk end test (${end}): strace is not installed (apt-get install strace)`);
      return;
    }
    const server = t.add(await startWsServer({ echo: false }));
    const closing = end === 'server-close'
      ? t.add(await startWsServer({ echo: false, onConnection: (ws) => setTimeout(() => ws.close(1001, 'going away'), 1000) }))
      : null;
    const dir = path.join(t.tempDir(`slow-end-${end}`), 'outbox');
    // Three fdatasyncs run one after another on the disk worker (the new segment's, then one commit
    // per batch of sends): 4.2 s, which ends inside the 5 s the end gives its disk.
    const delayMs = 1400;
    // 5 sends, then 3 more while their commit runs: the end has the one in flight to wait for
    // and one more to start.
    const refused = await refusedUrl();
    const writerUrl = closing ? closing.url : refused;
    const run = runFixture('end-beside-neighbour.js', { url: server.url, writerUrl, refusedUrl: refused, end, dir, count: 5, more: 3 }, {
      prefix: ['strace', '-f', '-o', '/dev/null', '-e', 'trace=fdatasync', '-e', `inject=fdatasync:delay_enter=${delayMs * 1000}`],
    });
    t.child(run.child);
    const { code } = await withDeadline(run.exited, 45000, 'the fixture under strace');
    expect({ code, stderr: run.stderr() }).toEqual({ code: 0, stderr: '' });
    const [result] = jsonLines(run.stdout());
    // The end waited for the disk (both commits), and decided every send, before its 5 s
    // deadline (which would leave what remains to a wait on the io thread).
    expect(result.endMs).toBeGreaterThan(delayMs);
    expect(result.endMs).toBeLessThan(5000);
    expect(result.receipts).toEqual(Array(8).fill('persisted'));
    if (end === 'fail') expect(result.close).toEqual({ code: 1006, reason: expect.stringContaining('gave up after 2 attempts') });
    if (end === 'server-close') expect(result.close).toEqual({ code: 1001, reason: 'going away' });
    // The end is announced ('failed', state 'closed') once the outbox's directory is free: a
    // socket made on it then fails for its own reason, not ERR_OUTBOX_LOCKED.
    expect(result.reuse).toBe('ERR_CONNECTION_REFUSED');
    // Meanwhile the io thread was free: the neighbour's 200 ms heartbeats kept coming. The end
    // used to wait for the disk on the io thread itself, and the gap was the whole wait (3.8 s
    // here after a failure or the server's close); 1 s leaves room for a loaded machine and is
    // still less than one delayed fdatasync.
    expect(result.disconnects).toEqual([]);
    expect(result.longestGapMs).toBeLessThan(1000);
    expect(result.heartbeats).toBeGreaterThanOrEqual(Math.floor(result.endMs / 200 / 3));
  }, 60000);
});

// A disk that does not answer within the 5 s an end gives it is not waited for at all: the end
// goes on without it (a hung disk held the io thread, and every socket's heartbeat, until it
// answered), and the disk worker finishes the outbox's close once it does.
test('an end whose disk does not answer within 5 s goes on without it; the worker finishes the close later, and nothing is lost', async () => {
  if (!haveStrace) {
    console.log('SKIPPED unanswered-disk end test: strace is not installed (apt-get install strace)');
    return;
  }
  const server = t.add(await startWsServer({ echo: false }));
  const dir = path.join(t.tempDir('slow-end-unanswered'), 'outbox');
  // The new segment's fdatasync, then the first commit's: 8 s of disk work before the first send
  // is decided, and the close() that comes 0.3 s after it gives the disk 5 s.
  const delayMs = 4000;
  const refused = await refusedUrl();
  const run = runFixture('end-beside-neighbour.js', {
    url: server.url, writerUrl: refused, refusedUrl: refused, end: 'close', dir, count: 5, more: 3, waitFree: true,
  }, {
    prefix: ['strace', '-f', '-o', '/dev/null', '-e', 'trace=fdatasync', '-e', `inject=fdatasync:delay_enter=${delayMs * 1000}`],
  });
  t.child(run.child);
  const { code } = await withDeadline(run.exited, 75000, 'the fixture under strace');
  expect({ code, stderr: run.stderr() }).toEqual({ code: 0, stderr: '' });
  const [result] = jsonLines(run.stdout());
  // 'close' came at the deadline, not when the disk answered...
  expect(result.endMs).toBeGreaterThan(4900);
  expect(result.endMs).toBeLessThan(8000);
  // ...with every send undecided, and said so.
  expect(result.receipts).toEqual(Array(8).fill('ERR_CLOSED'));
  expect(result.rejection).toMatch(/before its disk confirmed this message/);
  // The worker still held the directory then, and let it go once its disk had answered.
  expect(result.reuse).toBe('ERR_OUTBOX_LOCKED');
  expect(result.freeMs).toBeGreaterThan(result.endMs);
  // All that time the io thread was free: the neighbour's 200 ms heartbeats kept coming (the old
  // end waited out the disk on it from its deadline on: a gap of ~6 s here).
  expect(result.disconnects).toEqual([]);
  expect(result.longestGapMs).toBeLessThan(1000);
  // Nothing was lost: the next socket on the directory sends all eight, in order.
  const sock = t.socket(server.url, { heartbeat: false, outbox: { path: dir } });
  await next(sock, 'drain', 10000);
  await sock.close();
  const numbers = server.connections.flatMap((c) => c.messages.map((m) => JSON.parse(m.data).n)).filter((n) => n !== undefined);
  expect(numbers).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
}, 90000);

test("fsync 'none' makes no fsync or fdatasync call at all (log, directory, resume position)", async () => {
  if (!haveStrace) {
    console.log('SKIPPED fsync none test: strace is not installed (apt-get install strace)');
    return;
  }
  const server = t.add(await startWsServer()); // echoes: the ids come back and are stored
  const base = t.tempDir('no-fsync');
  const dir = path.join(base, 'outbox');
  const trace = path.join(base, 'strace.out');
  const run = runFixture('no-fsync-sender.js', { url: server.url, dir, count: 40 }, {
    prefix: ['strace', '-f', '-o', trace, '-e', 'trace=fsync,fdatasync,rename,renameat,renameat2'],
  });
  t.child(run.child);
  const { code } = await withDeadline(run.exited, 30000, 'the fixture under strace');
  expect({ code, stderr: run.stderr() }).toEqual({ code: 0, stderr: '' });
  expect(jsonLines(run.stdout())).toEqual([{ echoed: 40 }]);
  const calls = fs.readFileSync(trace, 'utf8').split('\n');
  // The resume position was stored (renamed into place) several times...
  expect(fs.readFileSync(path.join(dir, 'last-event-id'), 'utf8')).toBe('40');
  expect(calls.filter((l) => /\brename(at2?)?\(.*last-event-id/.test(l)).length).toBeGreaterThanOrEqual(2);
  // ...and nothing was synced.
  expect(calls.filter((l) => /\b(fsync|fdatasync)\(/.test(l))).toEqual([]);
});
