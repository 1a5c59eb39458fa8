'use strict';

// The socket's life from JavaScript: properties, close() semantics, the async iterator and
// stats() counters.

const { startWsServer, startTcpBlackholeServer } = require('../helpers/servers');
const { waitFor, withDeadline, quietPeriod, onceWithin } = require('../helpers/deadline');
const { makeTracker, recordEvents, next } = require('./support');

const t = makeTracker();
afterEach(() => t.cleanup());

test('state and url follow the connection; url never shows credentials', async () => {
  const server = t.add(await startWsServer());
  const withCredentials = `ws://alice:s3cret@127.0.0.1:${server.port}/feed?x=1`;
  const sock = t.socket(withCredentials);
  expect(sock.state).toBe('connecting');
  expect(sock.url).toBe(`ws://127.0.0.1:${server.port}/feed?x=***`); // query values may be tokens
  const connecting = await next(sock, 'connecting');
  expect(connecting).toEqual({ attempt: 1, url: sock.url });
  await next(sock, 'open');
  expect(sock.state).toBe('open');
  expect(sock.url).not.toContain('s3cret');
  expect((await server.nextConnection()).url).toBe('/feed?x=1');
});

test('autoConnect: false stays idle until connect()', async () => {
  const server = t.add(await startWsServer());
  const sock = t.socket(server.url, { autoConnect: false });
  expect(sock.state).toBe('idle');
  await quietPeriod(200); // nothing may connect on its own
  expect(server.handshakes).toHaveLength(0);
  sock.connect();
  await next(sock, 'open');
  expect(server.handshakes).toHaveLength(1);
});

test('close(): same promise every time, state closed, one close event, server sees code and reason', async () => {
  const server = t.add(await startWsServer());
  const sock = t.socket(server.url);
  const log = recordEvents(sock);
  await next(sock, 'open');
  const conn = await server.nextConnection();
  const serverClosed = onceWithin(conn.ws, 'close', 5000);

  // Queued before close(): goes out before the close frame.
  const lastReceipt = sock.send('last words');
  const first = sock.close(1000, 'bye');
  const second = sock.close(4000, 'ignored: already closing');
  expect(second).toBe(first);
  await withDeadline(first, 5000, 'close()');
  await expect(lastReceipt).resolves.toMatchObject({ status: 'written' });
  expect(sock.close()).toBe(first); // still the same after the socket closed

  expect(sock.state).toBe('closed');
  const [code, reason] = await serverClosed;
  expect(code).toBe(1000);
  expect(reason.toString()).toBe('bye');
  expect(conn.messages.map((m) => m.data)).toEqual(['last words']);

  await quietPeriod(200); // a second 'close' would have to show up here
  const closes = log.filter(([name]) => name === 'close');
  expect(closes).toHaveLength(1);
  expect(closes[0][1]).toEqual({ code: 1000, reason: 'bye' });
  const states = log.filter(([name]) => name === 'state').map(([, p]) => p.state);
  expect(states).toEqual(['open', 'closing', 'closed']);
  expect(log.filter(([name]) => name === 'reconnecting')).toHaveLength(0);
});

test('close() while the server is streaming completes the close handshake cleanly, without waiting out its deadline', async () => {
  // Messages keep arriving after our close frame, in reads of their own, until the server's
  // close frame: reading must go on through them (it once stopped after the first such read, and
  // the close ended unclean at the 3 s deadline).
  const server = t.add(
    await startWsServer({
      onConnection: (ws) => {
        const timer = setInterval(() => ws.readyState === 1 && ws.send('x'.repeat(512)), 1);
        ws.on('close', () => clearInterval(timer));
      },
    })
  );
  const sock = t.socket(server.url, { heartbeat: false });
  const log = recordEvents(sock, ['message', 'disconnect']);
  await next(sock, 'open');
  await waitFor(() => log.filter(([name]) => name === 'message').length >= 20, 5000, 'the stream');
  const started = Date.now();
  await withDeadline(sock.close(1000, 'enough'), 5000, 'close()');
  const took = Date.now() - started;
  const [disconnect] = log.filter(([name]) => name === 'disconnect').map(([, p]) => p);
  expect({ took: took < 1500, disconnect }).toEqual({
    took: true,
    disconnect: expect.objectContaining({ code: 1000, wasClean: true }),
  });
});

test('send() after close() rejects with ERR_CLOSED', async () => {
  const server = t.add(await startWsServer());
  const sock = t.socket(server.url);
  await next(sock, 'open');
  const closing = sock.close();
  // While closing and after closed, alike.
  await expect(sock.send('too late')).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  await withDeadline(closing, 5000, 'close()');
  await expect(sock.send(Buffer.from('still too late'))).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  sock.reconnect(); // a no-op once closed, not a crash
  sock.connect();
  expect(sock.state).toBe('closed');
});

test('close() while the upgrade is still pending ends at once, with one close event', async () => {
  const blackhole = t.add(await startTcpBlackholeServer());
  const sock = t.socket(blackhole.url, { connectTimeout: 30000 });
  const closes = [];
  sock.on('close', (p) => closes.push(p));
  await next(sock, 'connecting');
  await waitFor(() => blackhole.accepted === 1, 5000, 'the TCP connection');
  expect(sock.state).toBe('connecting');
  await withDeadline(sock.close(), 2000, 'close() of a connecting socket');
  expect(sock.state).toBe('closed');
  expect(closes).toHaveLength(1);
  await expect(sock.send('x')).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  // The abandoned attempt's TCP connection is released.
  await waitFor(() => blackhole.connections() === 0, 5000, 'the attempt to be closed');
});

test('the async iterator yields messages in order and ends when the socket closes', async () => {
  const server = t.add(await startWsServer({
    echo: false,
    onConnection: (ws) => {
      ws.send('one');
      ws.send(Buffer.from('two'));
      ws.send('three');
    },
  }));
  const sock = t.socket(server.url);
  const got = [];
  const consumed = (async () => {
    for await (const message of sock) {
      got.push(message);
      if (got.length === 3) sock.close(); // no break: the iterator must end by itself
    }
    return 'ended';
  })();
  expect(await withDeadline(consumed, 5000, 'the iterator to end')).toBe('ended');
  expect(got[0]).toBe('one');
  expect(Buffer.isBuffer(got[1]) && got[1].toString()).toBe('two');
  expect(got[2]).toBe('three');

  // A new iterator on a closed socket ends at once.
  const again = await withDeadline(sock[Symbol.asyncIterator]().next(), 1000, 'next() on a closed socket');
  expect(again).toEqual({ value: undefined, done: true });
});

test('stats() counters move with traffic and survive close()', async () => {
  const server = t.add(await startWsServer());
  const sock = t.socket(server.url);
  await next(sock, 'open');
  const before = sock.stats();
  expect(before).toMatchObject({ connects: 1, reconnects: 0, messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0 });
  expect(before.state).toBe('open');

  const received = [];
  sock.on('message', (d) => received.push(d));
  const payloads = ['abc', Buffer.alloc(1000, 7), 'ü'];
  const bytes = payloads.reduce((sum, p) => sum + Buffer.byteLength(p), 0);
  await withDeadline(Promise.all(payloads.map((p) => sock.send(p))), 5000, 'receipts');
  await waitFor(() => received.length === 3, 5000, 'three echoes');

  const after = sock.stats();
  expect(after.messagesOut).toBe(3);
  expect(after.bytesOut).toBe(bytes);
  expect(after.messagesIn).toBe(3);
  expect(after.bytesIn).toBe(bytes);
  expect(after.outboxSize).toBe(0);
  expect(sock.outboxSize).toBe(0);
  expect(sock.bufferedAmount).toBe(0);

  await withDeadline(sock.close(), 5000, 'close()');
  const closed = sock.stats();
  expect(closed.state).toBe('closed');
  expect(closed.messagesOut).toBe(3);
  expect(closed.messagesIn).toBe(3);
});

test('stats().disconnectedMs counts the stretch still running, before any open', async () => {
  const blackhole = t.add(await startTcpBlackholeServer());
  const sock = t.socket(blackhole.url, { connectTimeout: 30000 });
  await next(sock, 'connecting');
  const started = Date.now();
  await waitFor(() => Date.now() - started >= 300, 2000, '300 ms without a connection');
  // Never opened, so nothing was folded into the total yet: only the running stretch counts.
  expect(sock.stats().disconnectedMs).toBeGreaterThanOrEqual(250);
  await sock.close();
});
