'use strict';

// Worker threads: each Node environment has its own addon instance and io
// thread. Terminating a worker with an open socket must not hang or crash, and must leave the
// main thread's sockets working.

const path = require('path');
const { spawn } = require('child_process');
const { Worker } = require('worker_threads');
const { startWsServer } = require('../helpers/servers');
const { withDeadline, waitFor, onceWithin } = require('../helpers/deadline');
const { makeTracker, next, REPO } = require('./support');

const TERMINATE_MS = 5000;
const t = makeTracker();
const workers = new Set();

afterEach(async () => {
  await Promise.all([...workers].map((w) => withDeadline(w.terminate(), TERMINATE_MS, 'worker terminate in cleanup').catch(() => {})));
  workers.clear();
  await t.cleanup();
});

// Opens a socket, sends its name, reports the echo, and then keeps the socket open (or closes
// it and lets the worker end, with close: true).
const WORKER_SOURCE = `
const { parentPort, workerData } = require('worker_threads');
const { ResilientSocket } = require(${JSON.stringify(path.join(REPO, 'lib'))});
const sock = new ResilientSocket(workerData.url);
sock.on('open', () => sock.send('hello from ' + workerData.name));
sock.on('message', async (data) => {
  parentPort.postMessage({ echo: data });
  if (workerData.close) {
    await sock.close();
    parentPort.postMessage({ closed: sock.state });
  }
});
`;

// Keeps two sockets busy sending until it is terminated, so termination lands in the middle
// of send() calls and receipt deliveries. Small bursts: the server shares the test's thread.
const BUSY_WORKER_SOURCE = `
const { parentPort, workerData } = require('worker_threads');
const { ResilientSocket } = require(${JSON.stringify(path.join(REPO, 'lib'))});
let receipts = 0;
for (let k = 0; k < 2; k++) {
  const sock = new ResilientSocket(workerData.url);
  const burst = () => {
    for (let i = 0; i < 10; i++) {
      sock.send('x'.repeat(100)).then(() => {
        if (++receipts === 100) parentPort.postMessage('busy');
      }, () => {});
    }
    setImmediate(burst);
  };
  sock.on('open', burst);
}
`;

function startWorker(workerData, source = WORKER_SOURCE) {
  const worker = new Worker(source, { eval: true, workerData });
  workers.add(worker);
  const errors = [];
  worker.on('error', (err) => errors.push(err));
  worker.exited = new Promise((resolve) => worker.once('exit', resolve));
  worker.errors = errors;
  return worker;
}

async function expectMainStillWorks(server) {
  const sock = t.socket(server.url);
  await next(sock, 'open');
  const echoed = next(sock, 'message');
  await withDeadline(sock.send('main thread after workers'), 5000, 'receipt in main');
  expect(await echoed).toBe('main thread after workers');
}

test('terminate() of a worker with an open socket resolves promptly; the main thread still works', async () => {
  const server = t.add(await startWsServer());
  const worker = startWorker({ url: server.url, name: 'w1' });
  const [msg] = await onceWithin(worker, 'message', 10000);
  expect(msg).toEqual({ echo: 'hello from w1' });
  expect(server.clientCount()).toBe(1);

  const code = await withDeadline(worker.terminate(), TERMINATE_MS, 'worker.terminate()');
  expect(code).toBe(1); // terminated, not exited on its own
  expect(worker.errors).toEqual([]);
  // Teardown dropped the worker's connection instead of leaking it.
  await waitFor(() => server.clientCount() === 0, 5000, "the worker's connection to be dropped");

  await expectMainStillWorks(server);
});

test('two workers at once, each with its own socket, then both terminated', async () => {
  const server = t.add(await startWsServer());
  const a = startWorker({ url: server.url, name: 'a' });
  const b = startWorker({ url: server.url, name: 'b' });
  const [[fromA], [fromB]] = await Promise.all([onceWithin(a, 'message', 10000), onceWithin(b, 'message', 10000)]);
  expect(fromA).toEqual({ echo: 'hello from a' });
  expect(fromB).toEqual({ echo: 'hello from b' });
  expect(server.connections).toHaveLength(2);
  const seen = server.connections.map((c) => c.messages.map((m) => m.data)).sort();
  expect(seen).toEqual([['hello from a'], ['hello from b']]);

  // A main-thread socket open at the same time is unaffected by the workers' teardown.
  const mainSock = t.socket(server.url);
  await next(mainSock, 'open');
  const codes = await withDeadline(Promise.all([a.terminate(), b.terminate()]), TERMINATE_MS, 'both terminations');
  expect(codes).toEqual([1, 1]);
  await waitFor(() => server.clientCount() === 1, 5000, "the workers' connections to be dropped");
  expect(mainSock.state).toBe('open');
  const echoed = next(mainSock, 'message');
  await withDeadline(mainSock.send('still here'), 5000, 'receipt');
  expect(await echoed).toBe('still here');

  await expectMainStillWorks(server);
});

test('terminating busy workers at random moments never hangs or crashes the process', async () => {
  const server = t.add(await startWsServer({ echo: false }));
  // A Napi call failing inside a terminating worker once aborted the whole process (C++
  // exception escaping a callback); it took a few to a few dozen rounds to hit.
  for (let round = 0; round < 25; round++) {
    const worker = startWorker({ url: server.url }, BUSY_WORKER_SOURCE);
    await onceWithin(worker, 'message', 10000);
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 20)); // a random point in the traffic
    const code = await withDeadline(worker.terminate(), TERMINATE_MS, `worker.terminate() in round ${round}`);
    expect(code).toBe(1);
    expect(worker.errors).toEqual([]);
    workers.delete(worker);
  }
  await waitFor(() => server.clientCount() === 0, 5000, "the workers' connections to be dropped");
  const sock = t.socket(server.url);
  await next(sock, 'open');
  await expect(withDeadline(sock.send('main still sends'), 5000, 'receipt')).resolves.toMatchObject({ status: 'written' });
});

test('terminating workers whose sockets are receiving never crashes the process', async () => {
  // In a child process: a crash there is a failed assertion here, not a dead test runner.
  const fixture = path.join(__dirname, 'fixtures', 'terminate-receiving.js');
  const child = spawn(process.execPath, [fixture, '20'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
  child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
  // ~20 s alone here, but its sockets and server keep both cores busy: beside the heavier suites
  // of a full run it once took over 60 s. The bound is for a hang, not a speed.
  const [code, signal] = await withDeadline(new Promise((resolve) => child.once('exit', (c, s) => resolve([c, s]))),
    150000, 'the terminate-receiving child to finish');
  expect({ code, signal, stdout, stderr }).toEqual({ code: 0, signal: null, stdout: 'done 20\n', stderr: '' });
}, 160000);

test('a worker that closes its socket ends by itself', async () => {
  const server = t.add(await startWsServer());
  const worker = startWorker({ url: server.url, name: 'closer', close: true });
  const messages = [];
  worker.on('message', (m) => messages.push(m));
  const code = await withDeadline(worker.exited, 10000, 'the worker to end by itself');
  expect(code).toBe(0);
  expect(messages).toEqual([{ echo: 'hello from closer' }, { closed: 'closed' }]);
  expect(worker.errors).toEqual([]);
});
