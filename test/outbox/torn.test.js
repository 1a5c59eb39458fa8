'use strict';

// Simulated crash damage (TESTING.md "Disk faults": kill -9 alone never tears a record), seen
// end to end through a socket: a segment cut inside its last record, zero-filled or with random
// bytes appended loses only the torn record (counted in stats().tornBytesTruncated, no error);
// a damaged record in the middle is reported once as an 'error' with ERR_OUTBOX_CORRUPT, the
// damaged file is kept as *.corrupt, and every other record is delivered. The byte-by-byte
// sweep over every offset lives in native/tests/outbox_log_test.cpp; this checks the session's
// side of it.

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const { startWsServer } = require('../helpers/servers');
const { withDeadline } = require('../helpers/deadline');
const { makeTracker, next, refusedUrl } = require('./support');

const t = makeTracker();
afterEach(() => t.cleanup());

const COUNT = 20;
const HEADER = 24; // outbox_record.hpp: magic, total_len, crc32c, type, flags, key_len, seq

/** Writes COUNT records {"n": i} to a fresh outbox (server down) and returns its segment file. */
async function makeOutbox() {
  const dir = path.join(t.tempDir('torn'), 'outbox');
  const sock = t.socket(await refusedUrl(), { heartbeat: false, reconnect: { initialDelay: 5000 }, outbox: { path: dir } });
  for (let i = 0; i < COUNT; i++) await sock.send(JSON.stringify({ n: i }));
  await sock.close();
  const segments = fs.readdirSync(dir).filter((name) => name.endsWith('.log'));
  expect(segments).toHaveLength(1);
  return { dir, segment: path.join(dir, segments[0]) };
}

/** Offsets [start, end) of each record in a segment, from the total_len field. */
function recordBounds(bytes) {
  const bounds = [];
  for (let at = 0; at + HEADER <= bytes.length;) {
    const len = bytes.readUInt32LE(at + 4);
    bounds.push([at, at + len]);
    at += len;
  }
  return bounds;
}

/** Opens dir with a live server; returns what was delivered, the errors and the stats. */
async function reopen(dir) {
  const server = t.add(await startWsServer({ echo: false }));
  const sock = t.socket(server.url, { heartbeat: false, outbox: { path: dir } });
  const errors = [];
  sock.on('error', (err) => errors.push(err));
  // Not next(): an 'error' (ERR_OUTBOX_CORRUPT) before 'open' is what some cases expect.
  await withDeadline(new Promise((resolve) => sock.once('open', resolve)), 5000, "'open'");
  if (sock.outboxSize > 0) await next(sock, 'drain');
  await new Promise((resolve) => setTimeout(resolve, 30));
  const delivered = server.connections.flatMap((c) => c.messages.map((m) => JSON.parse(m.data).n));
  const stats = sock.stats();
  await sock.close();
  return { delivered, errors, stats };
}

const upTo = (n) => Array.from({ length: n }, (_, i) => i);

test('a segment cut anywhere inside its last record loses only that record', async () => {
  const { dir, segment } = await makeOutbox();
  const original = fs.readFileSync(segment);
  const bounds = recordBounds(original);
  expect(bounds).toHaveLength(COUNT + 1); // segment-start + data records
  expect(bounds[COUNT][1]).toBe(original.length);
  const [lastStart, lastEnd] = bounds[COUNT];
  // Inside the header, at its end, inside the key and payload, one byte short.
  for (const cut of [lastStart + 1, lastStart + 11, lastStart + HEADER, lastStart + HEADER + 5, lastEnd - 1]) {
    fs.writeFileSync(segment, original.subarray(0, cut));
    const { delivered, errors, stats } = await reopen(dir);
    expect({ cut, delivered, errors, torn: stats.tornBytesTruncated }).toEqual({
      cut, delivered: upTo(COUNT - 1), errors: [], torn: cut - lastStart,
    });
    fs.writeFileSync(segment, original); // the next cut starts from the intact file (undelivered again)
    for (const name of fs.readdirSync(dir)) if (name !== path.basename(segment) && name !== 'LOCK') fs.rmSync(path.join(dir, name));
  }
});

test('zero-filled or random bytes after the last record are dropped; every record is delivered', async () => {
  for (const tail of [Buffer.alloc(4096), crypto.randomBytes(777)]) {
    const { dir, segment } = await makeOutbox();
    fs.appendFileSync(segment, tail);
    const { delivered, errors, stats } = await reopen(dir);
    expect({ delivered, errors, torn: stats.tornBytesTruncated }).toEqual({ delivered: upTo(COUNT), errors: [], torn: tail.length });
  }
});

test('a damaged record in the middle: one ERR_OUTBOX_CORRUPT error, the file kept as .corrupt, the rest delivered', async () => {
  const { dir, segment } = await makeOutbox();
  const bytes = fs.readFileSync(segment);
  const [start, end] = recordBounds(bytes)[11]; // data record n = 10
  bytes[start + HEADER + Math.floor((end - start - HEADER) / 2)] ^= 0xff; // one flipped bit pattern in its body
  fs.writeFileSync(segment, bytes);
  const { delivered, errors } = await reopen(dir);
  expect(delivered).toEqual(upTo(COUNT).filter((n) => n !== 10));
  expect(errors).toHaveLength(1);
  expect(errors[0].code).toBe('ERR_OUTBOX_CORRUPT');
  expect(errors[0].message).toMatch(/\.corrupt/);
  expect(fs.readdirSync(dir).filter((name) => name.includes('.corrupt'))).toHaveLength(1);
  // Reported once: the next open finds a clean outbox.
  const again = await reopen(dir);
  expect(again).toMatchObject({ delivered: [], errors: [] });
});
