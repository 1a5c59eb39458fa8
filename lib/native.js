'use strict';

const path = require('path');

/**
 * Loads the compiled addon once per environment (each worker thread gets its own instance
 * data, so this is safe in workers).
 * @returns {{ NativeSocket: Function }}
 */
function loadNative() {
  // RESILIENT_WS_NATIVE: an addon built elsewhere, e.g. the ASan build of `npm run test:asan`.
  const candidates = [
    ...(process.env.RESILIENT_WS_NATIVE ? [path.resolve(process.env.RESILIENT_WS_NATIVE)] : []),
    path.join(__dirname, '..', 'build', 'Release', 'resilient_ws.node'),
    path.join(__dirname, '..', 'build', 'Debug', 'resilient_ws.node'),
  ];
  let lastError;
  for (const file of candidates) {
    try {
      return require(file);
    } catch (err) {
      if (err.code !== 'MODULE_NOT_FOUND') throw err;
      lastError = err;
    }
  }
  const err = new Error(
    'resilient-ws: the native addon is not built. Run `npm run build` in the package directory ' +
      '(needs cmake, g++, libboost1.81-dev and libssl-dev).',
  );
  err.code = 'ERR_ADDON_NOT_BUILT';
  err.cause = lastError;
  throw err;
}

module.exports = loadNative();
