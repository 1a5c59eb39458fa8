'use strict';

// `require('resilient-ws/server')` for resolvers that ignore package.json "exports" (older
// bundlers, TypeScript's node10 resolution, which then finds server.d.ts beside this file).
module.exports = require('./lib/server');
