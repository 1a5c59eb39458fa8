'use strict';

// Regression (review r2): with guarantee 'acked', a second send() whose key was still waiting
// for an ack used to be accepted and take over the key, so the server's single ack settled only
// one of the two: the other stayed in the outbox for ever ('drain' never came, outboxSize stuck,
// re-sent after every reconnect). Keys are unique until acknowledged: the duplicate
// must reject with ERR_INVALID_OPTION and never reach the wire; the first one resolves 'acked'
// on the server's ack. The server here acks only when the test says so.

const { startWsServer } = require('../helpers/servers');
const { waitFor, withDeadline, quietPeriod } = require('../helpers/deadline');
const { makeTracker, next } = require('./support');

const t = makeTracker();
afterEach(() => t.cleanup());

/** Every message the server received, parsed, with its connection number (1-based). */
const received = (server) => server.connections.flatMap((c, i) => c.messages.map((m) => ({ connection: i + 1, ...JSON.parse(m.data) })));

/** The settled outcome of a send(): { status, key } or { code, message }. */
const outcome = (p) => p.then((r) => ({ status: r.status, key: r.key }), (err) => ({ code: err.code, message: err.message }));

const ack = (server, key) => server.connections[server.connections.length - 1].ws.send(JSON.stringify({ type: 'ack', key }));

describe.each([
  ['in memory', false],
  ['file outbox', true],
])('acked mode, duplicate key (%s)', (label, durable) => {
  async function setup() {
    const server = t.add(await startWsServer({ echo: false }));
    const outbox = { guarantee: 'acked', keyField: 'key' };
    if (durable) outbox.path = `${t.tempDir('dupkey')}/outbox`;
    const sock = t.socket(server.url, { outbox, heartbeat: false, reconnect: { initialDelay: 20, maxDelay: 100 } });
    const drains = [];
    const acks = [];
    sock.on('drain', () => drains.push(sock.outboxSize));
    sock.on('ack', (e) => acks.push(e.key));
    await next(sock, 'open');
    return { server, sock, drains, acks };
  }

  test('same tick: the second send() with the key rejects ERR_INVALID_OPTION; one ack settles the first; drain; nothing re-sent', async () => {
    const { server, sock, drains, acks } = await setup();
    const first = outcome(sock.send(JSON.stringify({ n: 1 }), { key: 'K' }));
    const second = outcome(sock.send(JSON.stringify({ n: 2 }), { key: 'K' }));

    expect(await withDeadline(second, 5000, 'the duplicate to settle')).toEqual({
      code: 'ERR_INVALID_OPTION', message: expect.stringContaining("'K'"),
    });
    await waitFor(() => received(server).length === 1, 5000, 'the first message at the server');
    expect(drains).toEqual([]); // still waiting for the ack
    expect(sock.outboxSize).toBe(1);

    ack(server, 'K');
    expect(await withDeadline(first, 5000, 'the first send() to resolve on the ack')).toEqual({ status: 'acked', key: 'K' });
    await waitFor(() => drains.length === 1, 5000, "'drain'");
    expect(sock.outboxSize).toBe(0);
    expect(acks).toEqual(['K']);
    // The duplicate never went on the wire.
    expect(received(server)).toEqual([{ connection: 1, n: 1, key: 'K' }]);

    // Nothing is left to re-send after a reconnect.
    sock.reconnect();
    await next(sock, 'open');
    await quietPeriod(200);
    expect(server.connections).toHaveLength(2);
    expect(received(server)).toHaveLength(1);
    expect(sock.outboxSize).toBe(0);

    // Once acknowledged, the key is free again.
    const again = outcome(sock.send(JSON.stringify({ n: 3 }), { key: 'K' }));
    await waitFor(() => received(server).length === 2, 5000, 'the reused key at the server');
    expect(received(server)[1]).toEqual({ connection: 2, n: 3, key: 'K' });
    ack(server, 'K');
    expect(await withDeadline(again, 5000, 'the reused key to be acked')).toEqual({ status: 'acked', key: 'K' });
    await waitFor(() => drains.length === 2 && sock.outboxSize === 0, 5000, "a second 'drain'");
  });

  test('later tick, first already on the wire: the duplicate rejects, the first is still settled by the ack', async () => {
    const { server, sock, drains } = await setup();
    const first = outcome(sock.send(JSON.stringify({ n: 1 }), { key: 'K' }));
    const other = outcome(sock.send(JSON.stringify({ n: 2 }), { key: 'L' }));
    await waitFor(() => received(server).length === 2, 5000, 'both messages at the server');

    expect(await withDeadline(outcome(sock.send(JSON.stringify({ n: 3 }), { key: 'K' })), 5000, 'the duplicate')).toMatchObject({
      code: 'ERR_INVALID_OPTION',
    });
    expect(sock.outboxSize).toBe(2);
    // Acks in reverse order: each settles its own message only.
    ack(server, 'L');
    expect(await withDeadline(other, 5000, "the ack of 'L'")).toEqual({ status: 'acked', key: 'L' });
    expect(drains).toEqual([]);
    ack(server, 'K');
    expect(await withDeadline(first, 5000, "the ack of 'K'")).toEqual({ status: 'acked', key: 'K' });
    await waitFor(() => drains.length === 1, 5000, "'drain'");
    expect(sock.outboxSize).toBe(0);
    await quietPeriod(100);
    expect(received(server).map((m) => m.n)).toEqual([1, 2]);
  });
});
