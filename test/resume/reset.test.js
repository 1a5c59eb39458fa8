'use strict';

// When the server can no longer replay (the client's id fell out of its buffer), events are
// lost for good. Documented behaviour: the library never fabricates events; the
// server's own reset notice reaches the application as an ordinary message, and
// stats().idGaps / idsMissing report the jump in ids.

const { startReplayServer } = require('../helpers/replay-server');
const { startFaultProxy } = require('../helpers/fault-proxy');
const { onceWithin, waitFor } = require('../helpers/deadline');
const { FAST_RECONNECT, makeTracker, recordMessages, sequenceProblem, waitForId } = require('./support');

const t = makeTracker();
afterEach(() => t.cleanup());

const KEEP = 20;

test('an id that fell out of the server buffer: the reset message arrives as a message and idGaps reports the jump', async () => {
  const server = t.add(await startReplayServer({ keep: KEEP }));
  const proxy = t.add(await startFaultProxy({ target: { port: server.port } }));
  const sock = t.socket(proxy.url('/'), { resume: { idField: 'id' }, reconnect: FAST_RECONNECT, heartbeat: false });
  const rec = recordMessages(sock);
  const opens = [];
  sock.on('open', (info) => opens.push(info));
  await onceWithin(sock, 'open', 5000);

  for (let i = 0; i < 10; i++) server.publish(i);
  await waitForId(rec, 10);
  await proxy.setMode('refuse');
  proxy.resetAll();
  await waitFor(() => sock.state !== 'open', 5000, 'the drop');
  // 100 events while the client is away: 1..90 fall out of a 20-event buffer.
  for (let i = 0; i < 100; i++) server.publish(i);
  expect(server.oldest).toBe(91);
  await proxy.setMode('pass');
  await waitFor(() => opens.length === 2, 10000, 'the reconnect');
  await waitForId(rec, 110);
  for (let i = 0; i < 5; i++) server.publish(i); // live again
  await waitForId(rec, 115);

  expect(opens[1].resumedFrom).toBe('10');
  expect(server.log[1]).toMatchObject({ via: 'query', after: 10, reset: true });
  // Exactly what the server sent, nothing invented: 1..10, the notice, then 91..115.
  const resetAt = rec.all.findIndex((m) => m.json && m.json.type === 'reset');
  expect(resetAt).toBe(10);
  expect(rec.all[resetAt].json).toEqual({ type: 'reset', oldest: 91 });
  expect(rec.all[resetAt].info.id).toBeUndefined(); // no id field: delivered as is, no id
  expect(rec.all).toHaveLength(10 + 1 + 25);
  expect(sequenceProblem(rec.ids.slice(0, 10), 1, 10)).toBe('');
  expect(sequenceProblem(rec.ids.slice(10), 91, 115)).toBe('');

  const stats = sock.stats();
  expect(stats.idGaps).toBe(1);
  expect(stats.idsMissing).toBe(80); // 11..90
  expect(stats.duplicatesDropped).toBe(0);
  expect(sock.lastEventId).toBe('115');
});

test('a resume that the server can serve in full reports no gap', async () => {
  // The control case for the test above: same drop, but the buffer still holds the missed ids.
  const server = t.add(await startReplayServer({ keep: 1000 }));
  const proxy = t.add(await startFaultProxy({ target: { port: server.port } }));
  const sock = t.socket(proxy.url('/'), { resume: { idField: 'id' }, reconnect: FAST_RECONNECT, heartbeat: false });
  const rec = recordMessages(sock);
  await onceWithin(sock, 'open', 5000);
  for (let i = 0; i < 10; i++) server.publish(i);
  await waitForId(rec, 10);
  proxy.resetAll();
  for (let i = 0; i < 100; i++) server.publish(i);
  await waitForId(rec, 110);
  expect(server.log[1]).toMatchObject({ via: 'query', after: 10 });
  expect(server.log[1].reset).toBeUndefined();
  expect(rec.all.some((m) => m.json.type === 'reset')).toBe(false);
  expect(sequenceProblem(rec.ids, 1, 110)).toBe('');
  expect(sock.stats().idGaps).toBe(0);
  expect(sock.stats().idsMissing).toBe(0);
});
