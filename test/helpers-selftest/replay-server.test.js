'use strict';

const net = require('net');
const WebSocket = require('ws');
const { startReplayServer } = require('../helpers/replay-server');
const { onceWithin, waitFor, withDeadline, quietPeriod } = require('../helpers/deadline');

let srv;
const sockets = [];

afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  if (srv) await srv.close();
  srv = null;
});

async function client(pathOrUrl = '/', opts) {
  const ws = new WebSocket(pathOrUrl.startsWith('ws') ? pathOrUrl : srv.urlFor(pathOrUrl), opts);
  sockets.push(ws);
  const messages = [];
  ws.on('error', () => {});
  ws.on('message', (d) => messages.push(JSON.parse(d.toString())));
  await onceWithin(ws, 'open', 3000);
  return { ws, messages };
}

const ids = (messages) => messages.filter((m) => m.type === 'event').map((m) => m.id);

function publishN(n) {
  for (let i = 0; i < n; i += 1) srv.publish({ n: i });
}

test('a fresh client gets live events only, numbered from 1', async () => {
  srv = await startReplayServer({ awaitSyncMs: 0 });
  publishN(3);
  const c = await client();
  await waitFor(() => srv.log.length === 1, 3000, 'the resume log entry');
  expect(srv.publish('x')).toBe(4);
  await waitFor(() => c.messages.length === 1, 3000, 'the live event');
  expect(c.messages[0]).toEqual({ id: 4, type: 'event', data: 'x' });
  expect(srv.log).toEqual([{ via: 'none', after: null, connection: 1 }]);
});

test('resume via ?after= replays the gap, then continues live', async () => {
  srv = await startReplayServer();
  publishN(10);
  const c = await client('/?after=7');
  await waitFor(() => c.messages.length === 3, 3000, 'the replay');
  srv.publish('live');
  await waitFor(() => c.messages.length === 4, 3000, 'the live event');
  expect(ids(c.messages)).toEqual([8, 9, 10, 11]);
  expect(srv.log[0]).toMatchObject({ via: 'query', after: 7 });
});

test('resume via the Last-Event-ID header', async () => {
  srv = await startReplayServer();
  publishN(5);
  const c = await client('/', { headers: { 'Last-Event-ID': '3' } });
  await waitFor(() => c.messages.length === 2, 3000, 'the replay');
  expect(ids(c.messages)).toEqual([4, 5]);
  expect(srv.log[0]).toMatchObject({ via: 'header', after: 3 });
});

test('resume via a first sync message; events published meanwhile are not lost', async () => {
  srv = await startReplayServer({ awaitSyncMs: 2000 });
  publishN(5);
  const c = await client();
  srv.publish('during the wait'); // id 6, held until the sync arrives
  c.ws.send(JSON.stringify({ type: 'sync', lastEventId: 2 }));
  await waitFor(() => c.messages.length === 4, 3000, 'the replay');
  srv.publish('after');
  await waitFor(() => c.messages.length === 5, 3000, 'the live event');
  expect(ids(c.messages)).toEqual([3, 4, 5, 6, 7]);
  expect(srv.log[0]).toMatchObject({ via: 'message', after: 2 });
  expect(srv.received).toEqual([]); // sync messages are not recorded
});

test('without a sync the wait window ends and held events are delivered in order', async () => {
  srv = await startReplayServer({ awaitSyncMs: 100 });
  publishN(2);
  const c = await client();
  srv.publish('held');
  await waitFor(() => srv.log.length === 1, 3000, 'the wait window to end');
  srv.publish('live');
  await waitFor(() => c.messages.length === 2, 3000, 'two events');
  expect(ids(c.messages)).toEqual([3, 4]);
  expect(srv.log[0]).toMatchObject({ via: 'none', after: null });
});

test('an id that fell out of the buffer gets a reset, then every kept event', async () => {
  srv = await startReplayServer({ keep: 5 });
  publishN(20);
  expect(srv.oldest).toBe(16);
  const c = await client('/?after=3');
  await waitFor(() => c.messages.length === 6, 3000, 'reset + 5 events');
  expect(c.messages[0]).toEqual({ type: 'reset', oldest: 16 });
  expect(ids(c.messages)).toEqual([16, 17, 18, 19, 20]);
  expect(srv.log[0]).toMatchObject({ via: 'query', after: 3, reset: true });
});

test('acks keyed messages, records them, and can stop acking', async () => {
  srv = await startReplayServer({ ackField: 'key', awaitSyncMs: 0 });
  const c = await client();
  c.ws.send(JSON.stringify({ key: 'k1', v: 1 }));
  await waitFor(() => c.messages.length === 1, 3000, 'the ack');
  expect(c.messages[0]).toEqual({ type: 'ack', key: 'k1' });

  srv.setAcking(false);
  c.ws.send(JSON.stringify({ key: 'k2', v: 2 }));
  await waitFor(() => srv.received.length === 2, 3000, 'the second message');
  await quietPeriod(100); // negative assertion: no ack may follow
  expect(c.messages).toHaveLength(1);
  expect(srv.received.map((r) => r.key)).toEqual(['k1', 'k2']);
  expect(srv.received[1]).toMatchObject({ json: { key: 'k2', v: 2 }, connection: 1 });
});

test('the ticker publishes at the given rate and stops', async () => {
  srv = await startReplayServer({ rateHz: 200, makeData: (id) => `d${id}` });
  const c = await client('/?after=0');
  await waitFor(() => srv.head >= 10, 3000, 'ten ticks');
  srv.stop();
  const head = srv.head;
  await waitFor(() => ids(c.messages).length === head, 3000, 'every event up to the head');
  expect(ids(c.messages)).toEqual(Array.from({ length: head }, (_, i) => i + 1));
  expect(c.messages[0].data).toBe('d1');
  await quietPeriod(50);
  expect(srv.head).toBe(head);
});

test('firstId lets a restarted server continue numbering; future ids are flagged', async () => {
  srv = await startReplayServer({ firstId: 100 });
  expect(srv.publish('a')).toBe(100);
  const c = await client('/?after=500');
  await waitFor(() => srv.log.length === 1, 3000, 'the log entry');
  expect(srv.log[0]).toMatchObject({ via: 'query', after: 500, future: true });
  srv.publish('b');
  await waitFor(() => c.messages.length === 1, 3000, 'the live event');
  expect(ids(c.messages)).toEqual([101]);
});

test('close() drops clients and frees the port', async () => {
  srv = await startReplayServer({ rateHz: 50 });
  const c = await client();
  const { port } = srv;
  await srv.close();
  await onceWithin(c.ws, 'close', 3000);
  const outcome = await withDeadline(new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.on('error', (e) => resolve(e.code));
    s.on('connect', () => { s.destroy(); resolve('connected'); });
  }), 3000, 'a TCP outcome');
  expect(outcome).toBe('ECONNREFUSED');
  expect(() => srv.publish('late')).toThrow(/closed/);
  srv = null;
});
