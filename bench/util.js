'use strict';

// Small promise helpers shared by the benchmarks and scripts/timeline-svg.js.

/** A promise with its settle functions exposed. */
function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * Resolves with the payload of the first `name` event of `emitter` that passes `where`, or
 * rejects after `ms`.
 */
function once(emitter, name, ms, where = () => true) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(name, on);
      reject(new Error(`no '${name}' within ${ms} ms`));
    }, ms);
    const on = (payload) => {
      if (!where(payload)) return;
      clearTimeout(timer);
      emitter.off(name, on);
      resolve(payload);
    };
    emitter.on(name, on);
  });
}

module.exports = { deferred, once };
