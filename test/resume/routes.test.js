'use strict';

// The three ways of telling the server where the client stopped: a query parameter,
// a header, or a first 'sync' message with {{id}} replaced. Each is checked against the
// reference replay server, which logs how each connection asked and from which id.

const { startReplayServer } = require('../helpers/replay-server');
const { startFaultProxy } = require('../helpers/fault-proxy');
const { onceWithin, waitFor } = require('../helpers/deadline');
const { FAST_RECONNECT, makeTracker, recordMessages, sequenceProblem, afterParam, waitForId } = require('./support');

const t = makeTracker();
afterEach(() => t.cleanup());

/**
 * Streams, takes the client offline (connections refused) while it sends three messages,
 * lets it back, and returns what the server and the application saw.
 */
async function dropAndResume({ resume, serverOpts = {}, path = '/' }) {
  const server = t.add(await startReplayServer({ keep: 10000, ackField: undefined, ...serverOpts }));
  const proxy = t.add(await startFaultProxy({ target: { port: server.port } }));
  const sock = t.socket(proxy.url(path), { resume, reconnect: FAST_RECONNECT, heartbeat: false });
  const rec = recordMessages(sock);
  const lastSeenAtAttempt = [];
  sock.on('connecting', () => lastSeenAtAttempt.push(rec.lastId()));
  const opens = [];
  sock.on('open', (info) => opens.push(info));

  await onceWithin(sock, 'open', 5000);
  server.start(200);
  await waitForId(rec, 40);
  await proxy.setMode('refuse');
  proxy.resetAll();
  await waitFor(() => sock.state === 'reconnecting' || sock.state === 'connecting', 5000, 'the drop');
  // Sent while offline: they must reach the server after the resume handshake, not before.
  const sends = [1, 2, 3].map((n) => sock.send(JSON.stringify({ type: 'note', n })));
  await waitFor(() => server.head >= rec.lastId() + 50, 5000, 'events published while offline');
  await proxy.setMode('pass');
  await waitFor(() => opens.length === 2, 10000, 'the reconnect');
  await Promise.all(sends);
  await waitForId(rec, server.head + 20);
  server.stop();
  await waitForId(rec, server.head);
  // The last attempt is the one that got through; earlier ones were refused.
  const resumedAfter = lastSeenAtAttempt[lastSeenAtAttempt.length - 1];
  return { server, proxy, sock, rec, opens, resumedAfter, head: server.head };
}

test("via 'query' (default param 'after'): the reconnect URL carries ?after=<last id>", async () => {
  const r = await dropAndResume({ resume: { idField: 'id', via: 'query' } });
  expect(r.resumedAfter).toBeGreaterThanOrEqual(40);
  expect(r.server.log[0]).toMatchObject({ via: 'none', after: null });
  expect(r.server.log[1]).toMatchObject({ via: 'query', after: r.resumedAfter });
  expect(r.server.log[1].reset).toBeUndefined();
  expect(afterParam(r.proxy.requests[0].target)).toBeNull();
  expect(r.proxy.requests[r.proxy.requests.length - 1].target).toBe(`/?after=${r.resumedAfter}`);
  expect(r.opens[1].resumedFrom).toBe(String(r.resumedAfter));
  expect(sequenceProblem(r.rec.ids, 1, r.head)).toBe('');
  expect(r.sock.stats().idGaps).toBe(0);
});

test("via 'query' with a custom param keeps the URL's own query string", async () => {
  const r = await dropAndResume({ resume: { idField: 'id', via: 'query', param: 'since' }, serverOpts: { param: 'since' }, path: '/feed?room=7' });
  expect(r.server.log[1]).toMatchObject({ via: 'query', after: r.resumedAfter });
  const target = new URL(r.proxy.requests[r.proxy.requests.length - 1].target, 'http://x.invalid');
  expect(target.pathname).toBe('/feed');
  expect(target.searchParams.get('room')).toBe('7');
  expect(target.searchParams.get('since')).toBe(String(r.resumedAfter));
  expect(sequenceProblem(r.rec.ids, 1, r.head)).toBe('');
});

test("via 'header' (default Last-Event-ID): the id travels in the header, not the URL", async () => {
  const r = await dropAndResume({ resume: { idField: 'id', via: 'header' } });
  expect(r.resumedAfter).toBeGreaterThanOrEqual(40);
  expect(r.server.log[1]).toMatchObject({ via: 'header', after: r.resumedAfter });
  expect(r.proxy.requests.every((req) => req.target === '/')).toBe(true);
  expect(sequenceProblem(r.rec.ids, 1, r.head)).toBe('');
});

test("via 'message' (default sync template): the sync goes first, messages queued offline after it", async () => {
  const r = await dropAndResume({ resume: { idField: 'id', via: 'message' } });
  expect(r.resumedAfter).toBeGreaterThanOrEqual(40);
  // Had a queued note gone out before the sync, the server would have logged via 'none'.
  expect(r.server.log[1]).toMatchObject({ via: 'message', after: r.resumedAfter });
  expect(r.server.log[1].late).toBeUndefined();
  expect(r.proxy.requests.every((req) => req.target === '/')).toBe(true);
  expect(r.server.received.map((m) => [m.connection, m.json.n])).toEqual([[2, 1], [2, 2], [2, 3]]);
  expect(sequenceProblem(r.rec.ids, 1, r.head)).toBe('');
});

test("via 'message' with a custom template: every {{id}} is replaced by the numeric id", async () => {
  // The reference server reads type and lastEventId; the extra field checks the second {{id}}.
  const server = t.add(await startReplayServer({ keep: 10000 }));
  const proxy = t.add(await startFaultProxy({ target: { port: server.port } }));
  const template = '{"type":"sync","lastEventId":{{id}},"echo":"last={{id}}"}';
  const sock = t.socket(proxy.url('/'), { resume: { idField: 'id', via: 'message', param: template }, reconnect: FAST_RECONNECT });
  const rec = recordMessages(sock);
  const received = [];
  server.wss.on('connection', (ws) => ws.on('message', (d) => received.push(String(d))));
  await onceWithin(sock, 'open', 5000);
  for (let i = 0; i < 7; i++) server.publish(i);
  await waitForId(rec, 7);
  proxy.resetAll();
  await onceWithin(sock, 'open', 5000);
  for (let i = 0; i < 3; i++) server.publish(i);
  await waitForId(rec, 10);
  expect(received).toEqual(['{"type":"sync","lastEventId":7,"echo":"last=7"}']);
  expect(server.log[1]).toMatchObject({ via: 'message', after: 7 });
  expect(sequenceProblem(rec.ids, 1, 10)).toBe('');
});

test("a dotted idField ('data.seq') is what is remembered and sent", async () => {
  // data.seq equals the server's id, so the server can honour it; the top-level id is ignored.
  const r = await dropAndResume({ resume: { idField: 'data.seq', via: 'query' }, serverOpts: { makeData: (id) => ({ seq: id }) } });
  expect(r.server.log[1]).toMatchObject({ via: 'query', after: r.resumedAfter });
  expect(r.rec.all.every((m) => m.info.id === String(m.json.data.seq))).toBe(true);
  expect(sequenceProblem(r.rec.ids, 1, r.head)).toBe('');
});

describe('ids that cannot travel as they are', () => {
  const { WebSocketServer } = require('ws');

  /** A server that sends one event with `id`, records each handshake, and drops the first connection. */
  async function serverSending(id) {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((resolve) => wss.once('listening', resolve));
    const handshakes = [];
    wss.on('connection', (ws, req) => {
      handshakes.push({ url: req.url, headers: req.headers });
      if (handshakes.length === 1) {
        ws.send(JSON.stringify({ id, type: 'event' }));
        setTimeout(() => ws.terminate(), 50);
      }
    });
    t.add({ close: () => new Promise((resolve) => { for (const c of wss.clients) c.terminate(); wss.close(() => resolve()); }) });
    return { url: `ws://127.0.0.1:${wss.address().port}/`, handshakes };
  }

  test("via 'query': an id with reserved characters is percent-encoded and arrives intact", async () => {
    const id = 'a b&after=9#x/é';
    const server = await serverSending(id);
    const sock = t.socket(server.url, { resume: { idField: 'id', via: 'query' }, reconnect: FAST_RECONNECT, heartbeat: false });
    const rec = recordMessages(sock);
    await waitFor(() => server.handshakes.length === 2, 5000, 'the reconnect');
    expect(rec.all[0].info.id).toBe(id);
    const params = new URL(server.handshakes[1].url, 'http://x.invalid').searchParams;
    expect(params.getAll('after')).toEqual([id]);
  });

  test("via 'header': an id containing CR LF never splits the handshake request", async () => {
    // find_json_field unescapes \r\n, so a server (or whoever feeds it ids) controls these bytes.
    const server = await serverSending('7\r\nX-Injected: yes');
    const sock = t.socket(server.url, { resume: { idField: 'id', via: 'header' }, reconnect: FAST_RECONNECT, heartbeat: false });
    const opens = [];
    sock.on('open', (info) => opens.push(info));
    await waitFor(() => server.handshakes.length === 2, 5000, 'the reconnect');
    await waitFor(() => opens.length === 2, 5000, 'the reconnect to open');
    expect(server.handshakes[1].headers['x-injected']).toBeUndefined();
    // HTTP cannot carry that id, so it is not sent at all and the open does not claim a resume.
    expect(server.handshakes[1].headers['last-event-id']).toBeUndefined();
    expect(opens[1].resumedFrom).toBeUndefined();
  });
});
