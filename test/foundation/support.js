'use strict';

// Shared plumbing for the foundation tests: every socket and server a test makes is
// registered here and released in afterEach, whether the test passed or not.

const path = require('path');
const { ResilientSocket } = require('../../lib');
const { onceWithin } = require('../helpers/deadline');

const REPO = path.resolve(__dirname, '..', '..');
const EVENT_MS = 5000;

const { makeTracker } = require('../helpers/tracker');

/**
 * Records every event a socket emits, in order, as [name, ...args].
 *
 * @param {ResilientSocket} sock
 * @param {string[]} [names]
 * @returns {Array<[string, ...any[]]>}
 */
function recordEvents(sock, names = ['state', 'connecting', 'open', 'disconnect', 'reconnecting', 'failed', 'close']) {
  const log = [];
  for (const name of names) sock.on(name, (...args) => log.push([name, ...args]));
  return log;
}

/** @returns {Promise<any>} the first argument of the next `event`, within `ms` */
async function next(sock, event, ms = EVENT_MS) {
  const [first] = await onceWithin(sock, event, ms);
  return first;
}

module.exports = { REPO, EVENT_MS, makeTracker, recordEvents, next };
