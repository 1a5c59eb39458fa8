'use strict';

// A socket keeps its listeners in a fast object of its own (lib/listener-table.js) instead of
// EventEmitter's dictionary. It must behave as EventEmitter does: names, counts, the
// 'removeListener' event, events named like Object.prototype members; and it must stay a fast
// object through the usual once('open') / once('failed') pattern, which is what it is for.

const { spawnSync } = require('child_process');
const { EventEmitter } = require('events');
const { ListenerTableEmitter } = require('../../lib/listener-table');
const { startWsServer } = require('../helpers/servers');
const { makeTracker, next, REPO } = require('./support');

const t = makeTracker();
afterEach(() => t.cleanup());

function removals(emitter) {
  const seen = [];
  emitter.on('removeListener', (name, listener) => seen.push([name, listener]));
  return seen;
}

test('eventNames() and listenerCount() count only events with listeners, as EventEmitter does', () => {
  const e = new ListenerTableEmitter();
  const plain = new EventEmitter();
  const f = () => {};
  const g = () => {};
  for (const x of [e, plain]) {
    x.on('open', f);
    x.on('state', g);
    x.once('close', f);
    x.off('open', f);
    x.emit('close');
  }
  expect(e.eventNames()).toEqual(['state']);
  expect(plain.eventNames()).toEqual(['state']);
  expect(e.listenerCount('open')).toBe(0);
  expect(e.listenerCount('state')).toBe(1);
  expect(e.listeners('close')).toEqual([]);
  e.off('state', g);
  expect(e.eventNames()).toEqual([]);
  expect(e).toBeInstanceOf(EventEmitter);
});

test("'removeListener' is emitted once per removal, whichever way the listener goes", () => {
  const e = new ListenerTableEmitter();
  const seen = removals(e);
  const f = () => {};
  const g = () => {};
  e.on('open', f);
  e.off('open', f); // a sole listener: its slot is cleared
  e.on('message', f);
  e.on('message', g);
  e.removeListener('message', g); // one of two
  e.removeListener('message', f); // the sole one left
  const once = () => {};
  e.once('close', once);
  e.emit('close'); // a fired once() removes itself
  e.off('open', f); // nothing to remove: no event
  expect(seen).toEqual([
    ['open', f],
    ['message', g],
    ['message', f],
    ['close', once],
  ]);
});

test("after removeAllListeners() the table is EventEmitter's again, and removals are still announced once", () => {
  const e = new ListenerTableEmitter();
  const f = () => {};
  e.on('open', f);
  e.removeAllListeners();
  expect(e.eventNames()).toEqual([]);
  const seen = removals(e);
  e.on('open', f);
  e.on('close', f);
  e.off('open', f); // EventEmitter deletes and announces this one itself
  expect(seen).toEqual([['open', f]]);
  expect(e.eventNames()).toEqual(['removeListener', 'close']);
});

test('events named like Object.prototype members have no listeners until given some', () => {
  const e = new ListenerTableEmitter();
  expect(e.emit('toString')).toBe(false);
  expect(e.emit('__proto__')).toBe(false);
  expect(e.listenerCount('hasOwnProperty')).toBe(0);
  const f = jest.fn();
  e.on('toString', f);
  expect(e.emit('toString', 1)).toBe(true);
  expect(f).toHaveBeenCalledWith(1);
  expect(() => e.emit('error', new Error('no listener'))).toThrow('no listener');
});

test('a real socket after once(open) fired and once(failed) still waits: names and table are right', async () => {
  const server = t.add(await startWsServer());
  const sock = t.socket(server.url);
  const opened = new Promise((resolve, reject) => {
    sock.once('open', resolve);
    sock.once('failed', reject);
  });
  await opened;
  expect(sock.eventNames()).toContain('failed');
  expect(sock.eventNames()).not.toContain('open');
  expect(sock.listenerCount('failed')).toBe(1);
  const echoed = next(sock, 'message'); // the server echoes
  sock.send('hi');
  expect(await echoed).toBe('hi');
});

// V8 tells whether an object is a fast one only with --allow-natives-syntax: a child process.
test('the table stays a fast object through once(open) firing while once(failed) waits', () => {
  const source = `
    const { ListenerTableEmitter } = require(${JSON.stringify(`${REPO}/lib/listener-table`)});
    const e = new ListenerTableEmitter();
    e.once('open', () => {});
    e.once('failed', () => {});
    e.on('state', () => {});
    e.emit('open');
    const plain = new (require('events').EventEmitter)();
    plain.once('open', () => {});
    plain.once('failed', () => {});
    plain.emit('open');
    console.log(JSON.stringify({
      table: %HasFastProperties(e._events),
      cleared: Object.hasOwn(e._events, 'open'), // the slot was cleared, not deleted
      plain: %HasFastProperties(plain._events),
    }));
  `;
  const child = spawnSync(process.execPath, ['--allow-natives-syntax', '-e', source], { encoding: 'utf8', timeout: 15000 });
  expect(child.stderr).toBe('');
  const result = JSON.parse(child.stdout);
  expect(result.plain).toBe(false); // what this table avoids: EventEmitter's own is a dictionary
  // Node 18 deletes a removed event's slot, which makes any object a dictionary; later versions
  // clear it.
  const major = Number(process.versions.node.split('.')[0]);
  expect(result.cleared).toBe(major >= 20);
  expect(result.table).toBe(result.cleared);
});
