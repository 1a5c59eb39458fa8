'use strict';
// The native addon, loaded once per environment (each worker thread gets its own instance
// data, so this is safe in workers). Which file is loaded, and the error when none can be:
// lib/load-native.js.
const { loadNative } = require('./load-native');

module.exports = loadNative();
