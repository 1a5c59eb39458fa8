'use strict';

const { EventEmitter } = require('events');
const { withDeadline, onceWithin, waitFor } = require('../helpers/deadline');

describe('withDeadline', () => {
  test('passes a value through when the promise settles in time', async () => {
    await expect(withDeadline(Promise.resolve(42), 1000, 'the answer')).resolves.toBe(42);
  });

  test('passes a rejection through', async () => {
    await expect(withDeadline(Promise.reject(new Error('boom')), 1000, 'x')).rejects.toThrow('boom');
  });

  test('rejects naming what was awaited', async () => {
    const never = new Promise(() => {});
    const started = Date.now();
    await expect(withDeadline(never, 50, 'the open event'))
      .rejects.toThrow('Timed out after 50 ms waiting for the open event');
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });
});

describe('onceWithin', () => {
  test('resolves with the event arguments', async () => {
    const e = new EventEmitter();
    setImmediate(() => e.emit('open', 1, 'two'));
    await expect(onceWithin(e, 'open', 1000)).resolves.toEqual([1, 'two']);
    expect(e.listenerCount('open')).toBe(0);
    expect(e.listenerCount('error')).toBe(0);
  });

  test('rejects on timeout naming the event and removes its listeners', async () => {
    const e = new EventEmitter();
    await expect(onceWithin(e, 'close', 30)).rejects.toThrow("waiting for event 'close'");
    expect(e.listenerCount('close')).toBe(0);
    expect(e.listenerCount('error')).toBe(0);
  });

  test("rejects when 'error' comes first", async () => {
    const e = new EventEmitter();
    setImmediate(() => e.emit('error', new Error('bad')));
    await expect(onceWithin(e, 'open', 1000)).rejects.toThrow('bad');
  });
});

describe('waitFor', () => {
  test('resolves with the first truthy value', async () => {
    let n = 0;
    const timer = setInterval(() => { n += 1; }, 5);
    try {
      await expect(waitFor(() => n >= 3 && n, 2000, 'n to reach 3')).resolves.toBeGreaterThanOrEqual(3);
    } finally {
      clearInterval(timer);
    }
  });

  test('accepts async predicates', async () => {
    await expect(waitFor(async () => 'yes', 100, 'x')).resolves.toBe('yes');
  });

  test('times out with the description and the last predicate error', async () => {
    await expect(waitFor(() => { throw new Error('not ready'); }, 50, 'the server'))
      .rejects.toThrow(/Timed out after 50 ms waiting for the server \(last error: not ready\)/);
  });
});
