'use strict';

// Real disk faults under the file outbox: a send whose
// record is not on disk must reject with ERR_OUTBOX_IO, never resolve 'persisted'; sends work
// again once the disk does; and what the next process delivers is exactly what resolved.
// - ENOSPC: a 1 MiB tmpfs (needs root for mount; skipped with one line otherwise).
// - EIO on fdatasync: strace fault injection on the third fdatasync (skipped with one line when
//   strace is missing).

const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { startWsServer } = require('../helpers/servers');
const { waitFor, withDeadline } = require('../helpers/deadline');
const { makeTracker, next, refusedUrl, runFixture, jsonLines } = require('./support');

const t = makeTracker();
afterEach(() => t.cleanup());

/** Texts the server received, across connections, in order. */
const receivedTexts = (server) => server.connections.flatMap((c) => c.messages.map((m) => m.data));

/** Opens `dir` with a live server and returns the {n} of every message it delivers, in order. */
async function deliverWhatIsLeft(dir) {
  const server = t.add(await startWsServer({ echo: false }));
  const sock = t.socket(server.url, { heartbeat: false, outbox: { path: dir, keyField: 'key' } });
  await next(sock, 'open');
  if (sock.outboxSize > 0) await next(sock, 'drain', 10000);
  await new Promise((resolve) => setTimeout(resolve, 50)); // nothing more follows
  await sock.close();
  return receivedTexts(server).map((text) => JSON.parse(text).n);
}

/** Mounts a tmpfs of `size` at a fresh directory, or returns null (with the reason). */
function mountTmpfs(size) {
  const mountpoint = path.join(t.tempDir('tmpfs'), 'mnt');
  fs.mkdirSync(mountpoint);
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', mountpoint], { encoding: 'utf8' });
  if (r.status !== 0) return { mountpoint: null, reason: (r.stderr || r.error && r.error.message || `exit ${r.status}`).trim() };
  t.add({
    close() {
      // Lazy as a fallback: a test that failed with the outbox still open must not keep it busy.
      if (spawnSync('umount', [mountpoint]).status !== 0) spawnSync('umount', ['-l', mountpoint]);
    },
  });
  return { mountpoint };
}

test('ENOSPC on a full tmpfs: sends reject with ERR_OUTBOX_IO, none resolves unless stored; freeing space makes sending work', async () => {
  const { mountpoint, reason } = mountTmpfs('1m');
  if (!mountpoint) {
    console.log(`SKIPPED ENOSPC test: cannot mount a tmpfs (${reason}); needs root`);
    return;
  }
  // Leave about 300 KiB free: the outbox fills it within a few hundred 1 KiB messages.
  const filler = path.join(mountpoint, 'filler');
  fs.writeFileSync(filler, Buffer.alloc(700 * 1024, 1));
  const dir = path.join(mountpoint, 'outbox');
  const sock = t.socket(await refusedUrl(), {
    heartbeat: false, reconnect: { initialDelay: 1000 }, outbox: { path: dir, keyField: 'key' },
  });
  const pad = 'x'.repeat(1000);
  const batches = []; // per batch: [{n, status|code, message}]
  let n = 0;
  const sendBatch = async (size) => {
    const sends = [];
    for (let i = 0; i < size; i++, n++) {
      const rec = { n };
      sends.push(sock.send(JSON.stringify({ n, pad })).then(
        (r) => ({ ...rec, status: r.status }),
        (err) => ({ ...rec, code: err.code, message: err.message }),
      ));
    }
    const outcomes = await withDeadline(Promise.all(sends), 5000, 'a batch of sends');
    batches.push(outcomes);
    return outcomes;
  };

  // Fill the disk: keep sending until three batches in a row are refused (bounded).
  let refusedInARow = 0;
  for (let b = 0; b < 200 && refusedInARow < 3; b++) {
    const outcomes = await sendBatch(16);
    refusedInARow = outcomes.every((o) => o.code) ? refusedInARow + 1 : 0;
  }
  const outcomes = batches.flat();
  const failed = outcomes.filter((o) => o.code);
  const stored = outcomes.filter((o) => o.status);
  expect(refusedInARow).toBe(3);
  expect(stored.length).toBeGreaterThan(100);
  expect(failed.every((o) => o.code === 'ERR_OUTBOX_IO')).toBe(true);
  expect(failed[0].message).toMatch(/No space left on device/);
  expect(stored.every((o) => o.status === 'persisted')).toBe(true);
  // A batch is one write: all of it stored, or none of it.
  for (const batch of batches) expect(new Set(batch.map((o) => o.status || o.code)).size).toBe(1);
  // Once full, nothing resolved while the disk stayed full.
  const firstFailed = failed[0].n;
  expect(stored.filter((o) => o.n > firstFailed)).toEqual([]);

  // Free the space: sending works again, with the same socket.
  fs.unlinkSync(filler);
  const after = await sendBatch(16);
  expect(after.map((o) => o.status)).toEqual(Array(16).fill('persisted'));
  await sock.close();

  // What the next process delivers is exactly what resolved, in order: every 'persisted' was
  // on disk, and no refused message was.
  const expected = [...stored, ...after].map((o) => o.n);
  expect(await deliverWhatIsLeft(dir)).toEqual(expected);
});

const strace = spawnSync('strace', ['-V'], { encoding: 'utf8' });
const haveStrace = strace.status === 0;

describe.each(['batch', 'always'])("EIO from fdatasync (fsync '%s')", (fsync) => {
  test('the affected sends reject with ERR_OUTBOX_IO; the rest resolve and are exactly what is delivered later', async () => {
    if (!haveStrace) {
      console.log('SKIPPED EIO test: strace is not installed (apt-get install strace)');
      return;
    }
    const dir = path.join(t.tempDir('eio'), 'outbox');
    // The third fdatasync of the process fails once: after the new segment's and the first
    // batch's ('batch'), or inside the first batch ('always': one per record).
    const run = runFixture('eio-sender.js', { url: await refusedUrl(), dir, fsync, batches: 4, perBatch: 5 }, {
      prefix: ['strace', '-f', '-o', '/dev/null', '-e', 'trace=fdatasync', '-e', 'inject=fdatasync:error=EIO:when=3'],
    });
    t.child(run.child);
    const { code } = await withDeadline(run.exited, 30000, 'the sender under strace');
    expect({ code, stderr: run.stderr() }).toEqual({ code: 0, stderr: '' });
    const outcomes = jsonLines(run.stdout());
    expect(outcomes).toHaveLength(20);

    const failed = outcomes.filter((o) => o.code);
    const stored = outcomes.filter((o) => o.status);
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.every((o) => o.code === 'ERR_OUTBOX_IO' && /Input\/output error/.test(o.message))).toBe(true);
    expect(stored.every((o) => o.status === 'persisted')).toBe(true);
    // Only the batch that hit the failed sync is affected; later batches work again.
    expect(new Set(failed.map((o) => o.batch)).size).toBe(1);
    const failedBatch = failed[0].batch;
    if (fsync === 'batch') {
      expect(failed.map((o) => o.n)).toEqual(outcomes.filter((o) => o.batch === failedBatch).map((o) => o.n));
    }
    expect(stored.filter((o) => o.batch > failedBatch)).toHaveLength(5 * (3 - failedBatch));

    // The next process (no fault) delivers exactly the resolved ones, in order.
    expect(await deliverWhatIsLeft(dir)).toEqual(stored.map((o) => o.n));
  });
});
