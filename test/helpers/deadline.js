'use strict';

// Time-bounded waiting for tests. Every wait here ends: either the awaited thing
// happens or the promise rejects with a message naming what was awaited, so a hung
// test fails with a reason instead of Jest's anonymous timeout.

/**
 * Races `promise` against a timer.
 *
 * @template T
 * @param {Promise<T>|T} promise what to wait for
 * @param {number} ms how long to wait before giving up
 * @param {string} [what] description used in the error message
 * @returns {Promise<T>} settles like `promise`, or rejects with
 *   `Error('Timed out after <ms> ms waiting for <what>')` (`.code === 'ETIMEDOUT_TEST'`)
 */
function withDeadline(promise, ms, what = 'a promise') {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => {
      const err = new Error(`Timed out after ${ms} ms waiting for ${what}`);
      err.code = 'ETIMEDOUT_TEST';
      reject(err);
    }, ms);
  });
  return Promise.race([Promise.resolve(promise), deadline]).finally(() => clearTimeout(timer));
}

/**
 * Waits for one `event` from an EventEmitter (or anything with `on`/`off`), bounded.
 * If the emitter emits `'error'` first (and `event` is not `'error'`), rejects with it.
 *
 * @param {import('events').EventEmitter} emitter
 * @param {string} event event name
 * @param {number} ms deadline
 * @returns {Promise<any[]>} the event's arguments (like `events.once`)
 */
function onceWithin(emitter, event, ms) {
  return new Promise((resolve, reject) => {
    const off = (name, fn) =>
      (emitter.off ? emitter.off(name, fn) : emitter.removeListener(name, fn));
    const cleanup = () => {
      clearTimeout(timer);
      off(event, onEvent);
      if (event !== 'error') off('error', onError);
    };
    const onEvent = (...args) => {
      cleanup();
      resolve(args);
    };
    const onError = (err) => {
      cleanup();
      reject(err);
    };
    const timer = setTimeout(() => {
      cleanup();
      const err = new Error(`Timed out after ${ms} ms waiting for event '${event}'`);
      err.code = 'ETIMEDOUT_TEST';
      reject(err);
    }, ms);
    emitter.on(event, onEvent);
    if (event !== 'error') emitter.on('error', onError);
  });
}

/**
 * Polls `predicate` every 10 ms until it returns a truthy value (or a promise of one).
 * A predicate that throws is treated as "not yet"; its last error is appended to the
 * timeout message to explain why the condition never held.
 *
 * @template T
 * @param {() => T|Promise<T>} predicate condition to poll
 * @param {number} ms deadline
 * @param {string} [what] description used in the error message
 * @returns {Promise<T>} the first truthy value returned
 */
function waitFor(predicate, ms, what = 'a condition') {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    let lastError = null;
    const tick = async () => {
      try {
        const value = await predicate();
        if (value) {
          resolve(value);
          return;
        }
        lastError = null;
      } catch (err) {
        lastError = err;
      }
      if (Date.now() - started >= ms) {
        const suffix = lastError ? ` (last error: ${lastError.message})` : '';
        const err = new Error(`Timed out after ${ms} ms waiting for ${what}${suffix}`);
        err.code = 'ETIMEDOUT_TEST';
        reject(err);
        return;
      }
      setTimeout(tick, 10);
    };
    tick();
  });
}

/**
 * Resolves after `ms` without holding the event loop open past that. Use only to
 * observe that something does *not* happen during a window (a negative assertion);
 * never to wait for something to happen.
 *
 * @param {number} ms
 * @returns {Promise<void>}
 */
function quietPeriod(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

module.exports = { withDeadline, onceWithin, waitFor, quietPeriod };
