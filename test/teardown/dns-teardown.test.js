'use strict';

// Process exit, close() and worker termination never wait on DNS. Asio's resolver
// joins its getaddrinfo() thread when the io thread's context is destroyed, so with a resolver
// that never answers, each of these used to hang for the whole DNS timeout (here set to 30 s x 2
// attempts, for both A and AAAA). The child runs in a private mount + network namespace
// (unshare) whose /etc/resolv.conf points at a UDP socket on 127.0.0.1:53 that swallows queries.

const path = require('path');
const { unavailableReason, runInDnsNamespace } = require('../helpers/dns-namespace');

const FIXTURE = path.join(__dirname, 'fixtures', 'dns-stuck.js');
const BOUND_MS = 5000; // the documented bound is ~3 s (2 s outbox sync + 1 s io thread); DNS would be 60 s+

const why = unavailableReason();
if (why) console.log(`dns-teardown tests skipped: ${why}`);
const maybe = why ? test.skip : test;

/** Runs the fixture in its namespace; resolves with its JSON lines and the time it took to exit. */
const runStuck = (mode) => runInDnsNamespace(FIXTURE, [mode], { resolvOptions: 'timeout:30 attempts:2' });

maybe('process.exit() while a lookup hangs exits at once', async () => {
  const r = await runStuck('exit');
  expect(r.err).toBe('');
  expect(r.lines.some((l) => l.step === 'query swallowed')).toBe(true); // DNS really was asked
  const leaving = r.lines.find((l) => l.step === 'leaving');
  expect(leaving.state).toBe('connecting');
  // The lookup runs on a thread of its own, named so in ps / top / a debugger.
  expect(leaving.threads).toEqual(expect.arrayContaining(['rws-io', 'rws-dns']));
  expect(r.signal).toBeNull();
  expect(r.code).toBe(0);
  expect(r.exitAfterLeaving).toBeLessThan(BOUND_MS);
}, 70000);

maybe('close() while a lookup hangs resolves at once and the process ends', async () => {
  const r = await runStuck('close');
  expect(r.err).toBe('');
  const closed = r.lines.find((l) => l.step === 'closed');
  expect(closed).toBeDefined();
  expect(closed.took).toBeLessThan(BOUND_MS);
  expect(r.code).toBe(0);
  expect(r.exitAfterLeaving).toBeLessThan(BOUND_MS);
}, 70000);

maybe('terminating a worker whose socket is in a lookup is prompt', async () => {
  const r = await runStuck('worker');
  expect(r.err).toBe('');
  const done = r.lines.find((l) => l.step === 'terminated');
  expect(done).toBeDefined();
  expect(done.took).toBeLessThan(BOUND_MS);
  expect(r.code).toBe(0);
  expect(r.exitAfterLeaving).toBeLessThan(BOUND_MS);
}, 70000);
