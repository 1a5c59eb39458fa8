'use strict';

// Resume against an independent implementation: the Python `websockets` replay server
// (test/helpers/py-ws-server.py) numbers its own events and replays from ?after= or
// Last-Event-ID. Forced drops through the fault proxy must leave no gap and no duplicate.

const { startPythonServer, pythonAvailable, pythonSkipMessage } = require('../helpers/python-peer');
const { startFaultProxy } = require('../helpers/fault-proxy');
const { onceWithin, waitFor } = require('../helpers/deadline');
const { FAST_RECONNECT, makeTracker, recordMessages, sequenceProblem, afterParam, waitForId } = require('./support');

const available = pythonAvailable();
if (!available) console.log(pythonSkipMessage());
const maybe = available ? test : test.skip;

const t = makeTracker();
afterEach(() => t.cleanup());

const DROPS = 3;

/** Streams from the Python server through a proxy, resetting the connection DROPS times. */
async function streamWithDrops(via) {
  const py = t.add(await startPythonServer({ mode: 'replay', rateHz: 100, keep: 10000 }));
  const proxy = t.add(await startFaultProxy({ target: { port: py.port } }));
  const sock = t.socket(proxy.url('/'), { resume: { idField: 'id', via }, reconnect: FAST_RECONNECT, heartbeat: false });
  const rec = recordMessages(sock);
  const lastSeenAtAttempt = [];
  sock.on('connecting', () => lastSeenAtAttempt.push(rec.lastId()));
  let opens = 0;
  sock.on('open', () => { opens += 1; });
  await onceWithin(sock, 'open', 10000);
  await waitFor(() => rec.ids.length >= 20, 5000, 'the first events');
  const first = rec.ids[0]; // a fresh client starts live, wherever the server's counter is
  for (let i = 0; i < DROPS; i++) {
    await waitForId(rec, rec.lastId() + 20);
    proxy.resetAll();
    await waitFor(() => opens === i + 2, 10000, `reconnect ${i + 1}`);
  }
  await waitForId(rec, rec.lastId() + 50); // well past the replayed part: live again
  return { proxy, sock, rec, first, lastSeenAtAttempt };
}

maybe('query: resume from ?after after forced drops, ids continuous, no duplicates', async () => {
  const r = await streamWithDrops('query');
  expect(sequenceProblem(r.rec.ids, r.first, r.rec.lastId())).toBe('');
  expect(r.lastSeenAtAttempt).toHaveLength(DROPS + 1);
  expect(r.proxy.requests.map((q) => afterParam(q.target))).toEqual([null, ...r.lastSeenAtAttempt.slice(1)]);
  expect(r.rec.all.some((m) => m.json.type === 'reset')).toBe(false);
  expect(r.sock.stats().idGaps).toBe(0);
  expect(r.sock.stats().reconnects).toBe(DROPS);
}, 30000);

maybe('header: resume from Last-Event-ID after forced drops, ids continuous', async () => {
  const r = await streamWithDrops('header');
  expect(sequenceProblem(r.rec.ids, r.first, r.rec.lastId())).toBe('');
  expect(r.proxy.requests.every((q) => q.target === '/')).toBe(true);
  expect(r.sock.stats().idGaps).toBe(0);
}, 30000);
