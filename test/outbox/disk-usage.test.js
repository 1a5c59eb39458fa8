'use strict';

// The outbox directory stays bounded, and
// everything in it is readable by the owner only: directories 0700 (with the parents it
// creates), files 0600 — even under umask 0.

const fs = require('fs');
const path = require('path');
const { startWsServer } = require('../helpers/servers');
const { waitFor, withDeadline } = require('../helpers/deadline');
const { makeTracker, next, directoryBytes } = require('./support');

const t = makeTracker();
afterEach(() => t.cleanup());

const MiB = 1024 * 1024;

test('50,000 messages of 1 KiB through a live server leave a small directory behind', async () => {
  let received = 0;
  const server = t.add(await startWsServer({
    echo: false,
    onConnection: (ws) => ws.on('message', () => { received += 1; }),
  }));
  const dir = path.join(t.tempDir('usage'), 'outbox');
  const sock = t.socket(server.url, { heartbeat: false, outbox: { path: dir } });
  await next(sock, 'open');

  const N = 50000;
  const CHUNK = 1000;
  const payload = 'x'.repeat(1024);
  let peak = 0;
  const sampler = setInterval(() => {
    try { peak = Math.max(peak, directoryBytes(dir)); } catch { /* a segment deleted while listing */ }
  }, 20);
  try {
    for (let sent = 0; sent < N; sent += CHUNK) {
      const chunk = [];
      for (let i = 0; i < CHUNK; i++) chunk.push(sock.send(payload));
      await withDeadline(Promise.all(chunk), 20000, 'a chunk of receipts');
      // A file outbox resolves sends once on disk, ahead of the network: a producer that must
      // stay within maxMessages (10,000 by default) waits for the backlog to shrink.
      if (sock.outboxSize > 5000) await waitFor(() => sock.outboxSize < 1000, 20000, 'the backlog to shrink');
    }
    await waitFor(() => received === N && sock.outboxSize === 0, 30000, 'every message at the server');
  } finally {
    clearInterval(sampler);
  }
  const end = directoryBytes(dir);
  const segments = fs.readdirSync(dir).filter((name) => name.endsWith('.log'));
  console.log(`outbox directory after 50,000 × 1 KiB: ${end} bytes in ${segments.length} segment(s); peak seen ${(peak / MiB).toFixed(1)} MiB of ${(N * 1.07 / 1024).toFixed(0)} MiB written`);
  // A drained outbox keeps at most the idle segment (rotated at 1 MiB) and a fresh one.
  expect(end).toBeLessThan(1.5 * MiB);
  expect(segments.length).toBeLessThanOrEqual(2);
  // While streaming it never held more than two 16 MiB segments' worth.
  expect(peak).toBeLessThan(40 * MiB);
});

test('the directory (and the parents it creates) is 0700 and every file 0600, even under umask 0', async () => {
  const server = t.add(await startWsServer({
    echo: false,
    onConnection: (ws) => ws.send(JSON.stringify({ id: 7, data: 'event' })),
  }));
  const base = t.tempDir('modes');
  const dir = path.join(base, 'a', 'b', 'outbox');
  const previous = process.umask(0);
  try {
    // resume with a file outbox persists the last event id beside it: that file counts too.
    const sock = t.socket(server.url, {
      heartbeat: false, outbox: { path: dir }, resume: { idField: 'id', via: 'query' },
    });
    await next(sock, 'message');
    await sock.send('hello');
    await waitFor(() => fs.existsSync(path.join(dir, 'last-event-id')), 5000, 'the persisted event id');
    await sock.close();
  } finally {
    process.umask(previous);
  }
  const mode = (p) => (fs.statSync(p).mode & 0o777).toString(8);
  for (const d of [path.join(base, 'a'), path.join(base, 'a', 'b'), dir]) expect([d, mode(d)]).toEqual([d, '700']);
  const names = fs.readdirSync(dir);
  expect(names).toEqual(expect.arrayContaining(['LOCK', 'last-event-id']));
  expect(names.some((name) => /^seg-[0-9a-f]{16}\.log$/.test(name))).toBe(true);
  for (const name of names) expect([name, mode(path.join(dir, name))]).toEqual([name, '600']);
});
