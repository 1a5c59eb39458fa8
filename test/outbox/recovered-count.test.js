'use strict';

// A file outbox is opened on the io thread after the constructor returns, so outboxSize cannot
// count the records it recovers at once; it does by the first 'connecting' event (with
// autoConnect: false, the one connect() brings), which is what README and binding.d.ts promise.

const { makeTracker, next, refusedUrl } = require('./support');

const t = makeTracker();
afterEach(() => t.cleanup());

/** Leaves `count` pending records in a new file outbox at `dir` (nothing accepts them). */
async function leavePending(dir, url, count) {
  const sock = t.socket(url, { outbox: { path: dir }, reconnect: { initialDelay: 20000 } });
  const receipts = await Promise.all(Array.from({ length: count }, (_, i) => sock.send(`m${i}`)));
  expect(receipts.map((r) => r.status)).toEqual(Array(count).fill('persisted'));
  await sock.close();
}

test.each([['autoConnect', true], ['autoConnect: false, then connect()', false]])(
  'recovered records are counted by the first connecting event (%s)', async (label, autoConnect) => {
    const url = await refusedUrl();
    const dir = `${t.tempDir('recovered-count')}/outbox`;
    await leavePending(dir, url, 3);
    const sock = t.socket(url, { outbox: { path: dir }, autoConnect, reconnect: { initialDelay: 20000 } });
    const connecting = next(sock, 'connecting').then(() => sock.outboxSize);
    if (!autoConnect) sock.connect();
    expect(await connecting).toBe(3);
  });
