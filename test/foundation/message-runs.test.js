'use strict';

// Messages that arrive together reach JavaScript in runs: consecutive text messages as one
// string that is sliced, consecutive small binary messages as one Buffer with subarrays. These
// tests make a `ws` server write a burst in one go, so the runs really form, and check that
// every message comes out whole, in order and with its type — ASCII, multi-byte and astral
// UTF-8 (slicing counts UTF-16 units), empty messages, and messages too large to join a run.

const { execFile } = require('child_process');
const { promisify } = require('util');
const path = require('path');
const { startWsServer } = require('../helpers/servers');
const { waitFor } = require('../helpers/deadline');
const { makeTracker, next } = require('./support');

const t = makeTracker();
afterEach(() => t.cleanup());

// The burst: every kind of message, interleaved, so runs start and end at every boundary.
function burst() {
  const out = [];
  for (let i = 0; i < 300; i++) {
    out.push(`ascii ${i}`);
    out.push(i % 7 === 0 ? '' : `ünïcødé ${i} 日本語`);
    out.push(`astral 😀${i}𝄞`);
    out.push(Buffer.from([i & 0xff, 1, 2, 3]));
    if (i % 10 === 0) out.push(Buffer.alloc(0));
    if (i % 50 === 0) out.push('x'.repeat(40 * 1024) + `big ${i}`); // its own string
    if (i % 50 === 25) out.push(Buffer.alloc(40 * 1024, i & 0xff)); // its own Buffer
    if (i % 60 === 0) out.push(Buffer.alloc(20 * 1024, 7)); // fills a run fast
  }
  return out;
}

test('a burst of mixed messages arrives whole, in order and with its types', async () => {
  const messages = burst();
  const server = t.add(await startWsServer({
    echo: false,
    onConnection: (ws) => {
      // One synchronous loop: the frames leave in as few TCP segments as ws makes them.
      for (const m of messages) ws.send(m, { binary: Buffer.isBuffer(m) });
    },
  }));
  const sock = t.socket(server.url);
  const received = [];
  sock.on('message', (data) => received.push(data));
  await next(sock, 'open');
  await waitFor(() => received.length >= messages.length, 20000, `all ${messages.length} messages`);
  expect(received.length).toBe(messages.length);
  for (let i = 0; i < messages.length; i++) {
    const want = messages[i];
    if (Buffer.isBuffer(want)) {
      expect(Buffer.isBuffer(received[i])).toBe(true);
      expect(received[i].equals(want)).toBe(true);
    } else {
      expect(received[i]).toBe(want);
    }
  }
});

// In a child process: the socket rethrows a listener's exception on the next tick, as an
// uncaught exception, which Jest would take as this test's own failure.
test('a listener that throws in the middle of a run loses none of the messages after it', async () => {
  const server = t.add(await startWsServer({
    echo: false,
    onConnection: (ws) => {
      for (let i = 0; i < 50; i++) ws.send(`m${i}`);
    },
  }));
  const script = `
    const { ResilientSocket } = require(${JSON.stringify(path.join(__dirname, '..', '..'))});
    const received = [];
    const uncaught = [];
    process.on('uncaughtException', (err) => uncaught.push(err.message));
    const sock = new ResilientSocket(${JSON.stringify(server.url)});
    sock.on('message', (data) => {
      received.push(data);
      if (data === 'm10') throw new Error('listener failed on m10');
    });
    const timer = setInterval(() => {
      if (received.length < 50 || uncaught.length < 1) return;
      clearInterval(timer);
      console.log(JSON.stringify({ received, uncaught }));
      sock.close();
    }, 10);
  `;
  // Asynchronously: the server lives in this process.
  const child = await promisify(execFile)(process.execPath, ['-e', script], { timeout: 15000 });
  expect(child.stderr).toBe('');
  const { received, uncaught } = JSON.parse(child.stdout);
  expect(received).toEqual(Array.from({ length: 50 }, (_, i) => `m${i}`));
  expect(uncaught).toEqual(['listener failed on m10']);
});

// A message cut from a run keeps its run alive for as long as the application keeps it (a string
// slice references its parent string). Runs are small for that reason: keeping one message in
// 2,000 of a burst holds at most one 8 KiB run per kept message.
test('keeping a few messages of a burst does not keep the whole burst alive', async () => {
  const total = 400000;
  const server = t.add(await startWsServer({
    echo: false,
    onConnection: (ws) => {
      ws.on('message', () => {
        for (let i = 0; i < total; i++) ws.send(`{"seq":${i},"pad":"${'x'.repeat(40)}"}`);
      });
    },
  }));
  const script = `
    const { ResilientSocket } = require(${JSON.stringify(path.join(__dirname, '..', '..'))});
    const kept = [];
    let received = 0;
    global.gc();
    const before = process.memoryUsage().heapUsed;
    const sock = new ResilientSocket(${JSON.stringify(server.url)});
    sock.on('open', () => sock.send('go'));
    sock.on('message', (data) => {
      if (received++ % 2000 === 0) kept.push(data);
      if (received < ${total}) return;
      setImmediate(() => {
        global.gc();
        const retained = process.memoryUsage().heapUsed - before;
        console.log(JSON.stringify({ kept: kept.length, retained }));
        sock.close();
      });
    });
  `;
  const child = await promisify(execFile)(process.execPath, ['--expose-gc', '-e', script], { timeout: 30000 });
  const { kept, retained } = JSON.parse(child.stdout);
  expect(kept).toBe(total / 2000);
  // 200 kept messages: at most 200 runs of 8 KiB (1.6 MiB) plus the client's own heap growth.
  // With runs of up to 256 KiB (the first version) this measured ~9 MiB.
  expect(retained).toBeLessThan(4 * 1024 * 1024);
});
