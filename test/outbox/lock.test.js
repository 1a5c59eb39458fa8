'use strict';

// One outbox directory, one owner: a second socket or process opening it gets a
// terminal 'failed' with ERR_OUTBOX_LOCKED (then 'close'), the owner keeps working, and the
// lock goes away with its owner (close(), or the process dying).

const { startWsServer } = require('../helpers/servers');
const { waitFor, withDeadline } = require('../helpers/deadline');
const { makeTracker, next, refusedUrl, runFixture } = require('./support');

const t = makeTracker();
afterEach(() => t.cleanup());

/** Every event of a socket, in order, as [name, payload]. */
function record(sock) {
  const log = [];
  for (const name of ['state', 'connecting', 'open', 'failed', 'close']) sock.on(name, (e) => log.push([name, e]));
  return log;
}

test('a second socket on the same path in one process fails with ERR_OUTBOX_LOCKED, then closes', async () => {
  const server = t.add(await startWsServer({ echo: false }));
  const path = `${t.tempDir('lock')}/outbox`;
  const owner = t.socket(server.url, { outbox: { path, keyField: 'key' }, heartbeat: false });
  expect((await owner.send('{"n":1}')).status).toBe('persisted'); // the owner has the lock

  const second = t.socket(server.url, { outbox: { path }, heartbeat: false });
  const events = record(second);
  // 'failed' and 'close' come in one batch: wait on the record, not on two separate events.
  await waitFor(() => events.some(([name]) => name === 'close'), 5000, "'close'");
  const { error } = events.find(([name]) => name === 'failed')[1];
  expect(error.code).toBe('ERR_OUTBOX_LOCKED');
  expect(error.message).toContain(path);
  expect(events.map(([name]) => name)).toEqual(['state', 'failed', 'close']);
  expect(events[0][1]).toMatchObject({ state: 'failed' });
  expect(second.state).toBe('failed');
  expect(events.some(([name]) => name === 'connecting')).toBe(false); // it never touched the network
  await expect(second.send('x')).rejects.toMatchObject({ code: 'ERR_CLOSED' });

  // The owner is unaffected, and the lock leaves with it.
  expect((await owner.send('{"n":2}')).status).toBe('persisted');
  await waitFor(() => server.connections.length === 1 && server.connections[0].messages.length === 2, 5000, 'two messages');
  await owner.close();
  const third = t.socket(server.url, { outbox: { path }, heartbeat: false });
  await next(third, 'open');
  expect((await third.send('{"n":3}')).status).toBe('persisted');
});

test('a socket in another process than the owner fails with ERR_OUTBOX_LOCKED; kill -9 of the owner frees the path', async () => {
  const server = t.add(await startWsServer({ echo: false }));
  const path = `${t.tempDir('lock')}/outbox`;
  const holder = runFixture('hold-outbox.js', { url: await refusedUrl(), dir: path });
  t.child(holder.child);
  await waitFor(() => holder.stdout().includes('ready') || holder.child.exitCode !== null, 10000, 'the holder to take the lock');
  expect(holder.stdout()).toMatch(/^ready .*"status":"persisted"/);

  const contender = t.socket(server.url, { outbox: { path }, heartbeat: false });
  const events = record(contender);
  await waitFor(() => events.some(([name]) => name === 'close'), 5000, "'close'");
  expect(events.map(([name]) => name)).toEqual(['state', 'failed', 'close']);
  expect(events[1][1].error.code).toBe('ERR_OUTBOX_LOCKED');

  // The kernel drops a dead process's flock: the next opener recovers the holder's message.
  holder.child.kill('SIGKILL');
  await withDeadline(holder.exited, 5000, 'the holder to die');
  const heir = t.socket(server.url, { outbox: { path }, heartbeat: false });
  await next(heir, 'drain');
  // 'drain': handed to the kernel. The server in this process reads it on a later turn of the
  // event loop, which may come after the one that delivers 'drain'.
  const arrived = () => server.connections.length === 1 && server.connections[0].messages.length > 0;
  await waitFor(arrived, 5000, "the holder's message at the server");
  expect(server.connections[0].messages.map((m) => JSON.parse(m.data).from)).toEqual(['holder']);
});
