'use strict';

// The io thread is visible under its own name (top -H, perf, /proc). On Linux 6.12 and later it
// runs SCHED_OTHER with the shortest time slice, so that after a wake-up it runs before an
// application thread a peer on the same core preempted; on older kernels SCHED_BATCH, whose
// wake-ups do not preempt the thread running on that core (README, Benchmarks). Read from the
// kernel's view of this process's threads.

const fs = require('fs');
const os = require('os');
const { startWsServer } = require('../helpers/servers');
const { makeTracker, next } = require('./support');

const t = makeTracker();
afterEach(() => t.cleanup());

const SCHED_OTHER = 0;
const SCHED_BATCH = 3;

/** name and scheduling policy of every thread of this process (/proc/self/task/<tid>/stat). */
function threads() {
  const out = [];
  for (const tid of fs.readdirSync('/proc/self/task')) {
    try {
      const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      // After "pid (comm) ", field 3 (state) onwards; policy is field 41.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.push({ tid, name: fs.readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim(), policy: Number(fields[41 - 3]) });
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/** A thread's time slice in ns (/proc/self/task/<tid>/sched, "se.slice"), or null where not shown. */
function sliceOf(tid) {
  try {
    const m = /^se\.slice\s*:\s*(\d+)/m.exec(fs.readFileSync(`/proc/self/task/${tid}/sched`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Polls `check` until it holds or `ms` pass (what a thread does as its first step may lag behind). */
async function eventually(check, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

// Custom time slices for SCHED_OTHER/SCHED_BATCH threads came with Linux 6.12.
const [major, minor] = os.release().split('.').map(Number);
const customSlices = major > 6 || (major === 6 && minor >= 12);
const SHORT_SLICE_NS = 100000;

test('the io thread is named rws-io and runs with the short slice (SCHED_BATCH without one); the JavaScript thread keeps its policy', async () => {
  const mainBefore = threads().find((th) => th.tid === String(process.pid)).policy;
  const server = t.add(await startWsServer({ echo: true }));
  const sock = t.socket(server.url);
  await next(sock, 'open');
  const all = threads();
  const io = all.filter((th) => th.name === 'rws-io');
  expect(io).toHaveLength(1);  // one per environment, shared by every socket
  expect(io[0].policy).toBe(customSlices ? SCHED_OTHER : SCHED_BATCH);
  expect(all.find((th) => th.tid === String(process.pid)).policy).toBe(mainBefore);
  const mainSlice = sliceOf(String(process.pid));
  if (customSlices && mainSlice !== null) {
    expect(sliceOf(io[0].tid)).toBe(SHORT_SLICE_NS);
    expect(mainSlice).not.toBe(SHORT_SLICE_NS);  // the application's thread is left alone
  }

  // A second socket shares it.
  const other = t.socket(server.url);
  await next(other, 'open');
  expect(threads().filter((th) => th.name === 'rws-io')).toHaveLength(1);
});

// Threads the io thread starts would inherit its name, policy and time slice: a file outbox's
// disk worker sets its own, and keeps the standard policy and slice (an fsync's completion should
// not wait for a core).
test('a file outbox\'s disk worker is named rws-disk and keeps the standard policy', async () => {
  const server = t.add(await startWsServer({ echo: true }));
  const sock = t.socket(server.url, { outbox: { path: t.tempDir('threads') } });
  await next(sock, 'open');
  const all = threads();
  expect(all.filter((th) => th.name === 'rws-io')).toHaveLength(1);
  const disk = all.filter((th) => th.name === 'rws-disk');
  expect(disk).toHaveLength(1);
  // The worker sets its policy and slice as its first step, which a loaded machine may not have
  // scheduled yet when 'open' arrives.
  const policyOf = (tid) => threads().find((th) => th.tid === tid).policy;
  await eventually(() => policyOf(disk[0].tid) === SCHED_OTHER);
  expect(policyOf(disk[0].tid)).toBe(SCHED_OTHER);
  const mainSlice = sliceOf(String(process.pid));
  if (customSlices && mainSlice !== null) {
    await eventually(() => sliceOf(disk[0].tid) === mainSlice);
    expect(sliceOf(disk[0].tid)).toBe(mainSlice);
  }
});
