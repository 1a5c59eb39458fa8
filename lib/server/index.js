'use strict';

// `require('resilient-ws/server')`: the server companion for Node servers on the `ws` package.
// redis-store.js loads ioredis only when a RedisStore is constructed, so the memory store works
// without a Redis client installed. (Plain shorthand exports: ESM `import { … }` sees the names.)

const { ResilientServer, SHUTDOWN_CODES } = require('./resilient-server');
const { MemoryStore } = require('./memory-store');
const { RedisStore } = require('./redis-store');

module.exports = { ResilientServer, MemoryStore, RedisStore, SHUTDOWN_CODES };
