'use strict';

// `require('resilient-ws/server')`: the server companion for Node servers on the `ws` package.
// The Redis store is loaded only when asked for, so the memory store works without a Redis client.

const { ResilientServer, SHUTDOWN_CODES } = require('./resilient-server');
const { MemoryStore } = require('./memory-store');

module.exports = {
  ResilientServer,
  MemoryStore,
  SHUTDOWN_CODES,
  /** @returns {typeof import('./redis-store').RedisStore} */
  get RedisStore() {
    return require('./redis-store').RedisStore;
  },
};
