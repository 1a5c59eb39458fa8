'use strict';

// What a socket keeps for its sends (lib/send-state.js): the receipts still pending, in one array
// reused once empty, and the file outbox's persisted-but-unwritten bytes. A receipt found wrong,
// settled twice or never, or a byte counted twice shows up in every send() test only as a hang;
// these tests pin down the bookkeeping itself, including the out-of-order settles ('acked',
// failed sends) and the packing they lead to.

const { PendingReceipts, PersistedUnwritten, SendState, generatedKey } = require('../../lib/send-state');

/** Adds requests first..last, each resolving into `log` as [request, value]. */
function addRange(receipts, first, last, log, bytes = 10) {
  for (let r = first; r <= last; r++) {
    receipts.add(r, (value) => log.push(['resolved', r, value]), (err) => log.push(['rejected', r, err.message]), r % 3 === 0 ? `key-${r}` : undefined, bytes);
  }
}

function settleAll(receipts, first, last) {
  const seen = [];
  receipts.settleRange(first, last, (request, resolve, key, bytes) => {
    seen.push({ request, key, bytes });
    resolve(request);
  });
  return seen;
}

describe('PendingReceipts', () => {
  test('settles a range in request order, once each, and passes each send its key and bytes', () => {
    const receipts = new PendingReceipts();
    const log = [];
    addRange(receipts, 1, 6, log, 7);
    expect(receipts.size).toBe(6);
    expect(receipts.oldest()).toBe(1);
    const seen = settleAll(receipts, 2, 4);
    expect(seen).toEqual([
      { request: 2, key: undefined, bytes: 7 },
      { request: 3, key: 'key-3', bytes: 7 },
      { request: 4, key: undefined, bytes: 7 },
    ]);
    expect(receipts.size).toBe(3);
    expect(receipts.oldest()).toBe(1);
    expect(settleAll(receipts, 2, 4)).toEqual([]); // nothing settles twice
    expect(settleAll(receipts, 1, 6).map((s) => s.request)).toEqual([1, 5, 6]);
    expect(receipts.size).toBe(0);
    expect(receipts.oldest()).toBe(Infinity);
    expect(log.map(([, r]) => r)).toEqual([2, 3, 4, 1, 5, 6]);
  });

  test('reuses its array once empty: a steady stream does not grow it', () => {
    const receipts = new PendingReceipts();
    const log = [];
    addRange(receipts, 1, 100, log);
    settleAll(receipts, 1, 100);
    const { slots } = receipts;
    const capacity = slots.length;
    for (let round = 1; round <= 50; round++) {
      addRange(receipts, round * 100 + 1, round * 100 + 100, log);
      settleAll(receipts, round * 100 + 1, round * 100 + 100);
    }
    expect(receipts.slots).toBe(slots);
    expect(slots.length).toBe(capacity);
    expect(log).toHaveLength(5100);
    // An emptied array kept for reuse holds no resolver, reject function or key any more.
    expect(slots.filter((x) => typeof x === 'function' || typeof x === 'string')).toEqual([]);
  });

  test('a failed send is found out of order, rejected once, and reports its bytes', () => {
    const receipts = new PendingReceipts();
    const log = [];
    addRange(receipts, 1, 5, log, 9);
    expect(receipts.fail(3, new Error('too big'))).toBe(9);
    expect(receipts.fail(3, new Error('again'))).toBe(0);
    expect(receipts.fail(42, new Error('never sent'))).toBe(0);
    expect(receipts.fail(1, new Error('first'))).toBe(9);
    expect(receipts.oldest()).toBe(2);
    expect(settleAll(receipts, 1, 5).map((s) => s.request)).toEqual([2, 4, 5]);
    expect(log).toEqual([
      ['rejected', 3, 'too big'],
      ['rejected', 1, 'first'],
      ['resolved', 2, 2],
      ['resolved', 4, 4],
      ['resolved', 5, 5],
    ]);
  });

  test('takeBytes counts a range out once, and a later settle reports 0 bytes for it', () => {
    const receipts = new PendingReceipts();
    addRange(receipts, 10, 19, [], 5);
    expect(receipts.takeBytes(1, 9)).toBe(0); // older than every pending one
    expect(receipts.takeBytes(12, 14)).toBe(15);
    expect(receipts.takeBytes(12, 14)).toBe(0);
    expect(receipts.takeBytes(14, 100)).toBe(25); // 15-19; 14 was counted already
    const seen = settleAll(receipts, 10, 19);
    expect(seen.map((s) => s.bytes)).toEqual([5, 5, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  test('holes left by out-of-order settles are packed away, and every receipt still settles', () => {
    // One old receipt never settles ('acked' without its ack) while many later ones do: the
    // array must not keep a slot group for each of them.
    const receipts = new PendingReceipts();
    const log = [];
    addRange(receipts, 1, 1, log);
    for (let r = 2; r <= 100000; r += 100) {
      addRange(receipts, r, r + 99, log);
      settleAll(receipts, r, r + 99);
    }
    expect(receipts.size).toBe(1);
    expect(receipts.slots.length).toBeLessThan(5 * 20000);
    // Out of order, both ways, across a pack.
    addRange(receipts, 100002, 110001, log);
    for (let r = 110001; r > 100002; r -= 2) receipts.fail(r, new Error('x'));
    addRange(receipts, 110002, 110002, log);
    expect(receipts.find(100002)).toBeGreaterThanOrEqual(0);
    expect(receipts.find(100003)).toBe(-1);
    const rest = settleAll(receipts, 1, 200000).map((s) => s.request);
    const expected = [1];
    for (let r = 100002; r <= 110000; r += 2) expected.push(r);
    expected.push(110002);
    expect(rest).toEqual(expected);
    expect(receipts.size).toBe(0);
    const settled = new Set(log.map(([, r]) => r));
    expect(settled.size).toBe(log.length); // once each
    expect(settled.size).toBe(110002);
  });

  test('takeRejects hands over every pending receipt, oldest first, and leaves none', () => {
    const receipts = new PendingReceipts();
    const log = [];
    addRange(receipts, 1, 6, log);
    settleAll(receipts, 2, 2);
    receipts.fail(5, new Error('failed'));
    for (const reject of receipts.takeRejects()) reject(new Error('closed'));
    expect(log.filter(([what]) => what === 'rejected')).toEqual([
      ['rejected', 5, 'failed'],
      ['rejected', 1, 'closed'],
      ['rejected', 3, 'closed'],
      ['rejected', 4, 'closed'],
      ['rejected', 6, 'closed'],
    ]);
    expect(receipts.size).toBe(0);
    expect(receipts.takeRejects()).toEqual([]);
  });
});

describe('PersistedUnwritten', () => {
  test('takes the bytes up to a request, and what lies below a range it never gets', () => {
    const queue = new PersistedUnwritten();
    queue.push(1, 10);
    queue.push(2, 20);
    queue.push(4, 40); // 3 failed or was direct: never queued
    queue.push(5, 50);
    expect(queue.takeUpTo(0)).toBe(0);
    expect(queue.takeUpTo(2)).toBe(30);
    expect(queue.takeUpTo(2)).toBe(0);
    expect(queue.takeUpTo(5)).toBe(90);
    expect(queue.takeUpTo(1000)).toBe(0);
  });

  test('keeps its array while streaming, and its front moves back once taken past half', () => {
    const queue = new PersistedUnwritten();
    let pushed = 0;
    let taken = 0;
    for (let r = 1; r <= 50000; r++) {
      queue.push(r, 1);
      pushed++;
      // Always 2,000 behind: the queue never empties, so only moving its front bounds it.
      if (r > 2000 && r % 100 === 0) taken += queue.takeUpTo(r - 2000);
    }
    expect(queue.end - queue.head).toBe(2 * 2000);
    expect(queue.slots.length).toBeLessThan(2 * 12000);
    taken += queue.takeUpTo(50000);
    expect(taken).toBe(pushed);
  });
});

test('generated keys match the native outbox: prefix, "-", seq in at least 12 hex digits', () => {
  const sends = new SendState();
  const pads = sends.keyPadsFor('a1b2c3');
  expect(sends.keyPadsFor('a1b2c3')).toBe(pads); // made once per prefix
  expect(generatedKey(pads, 1)).toBe('a1b2c3-000000000001');
  expect(generatedKey(pads, 0xabcdef)).toBe('a1b2c3-000000abcdef');
  expect(generatedKey(pads, 2 ** 48 - 1)).toBe('a1b2c3-ffffffffffff');
  expect(generatedKey(pads, 2 ** 48)).toBe('a1b2c3-1000000000000');
  expect(generatedKey(sends.keyPadsFor('other'), 255)).toBe('other-0000000000ff');
});
