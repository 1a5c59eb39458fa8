'use strict';

// Shared plumbing for the foundation tests: every socket and server a test makes is
// registered here and released in afterEach, whether the test passed or not.

const path = require('path');
const { ResilientSocket } = require('../../lib');
const { onceWithin, withDeadline } = require('../helpers/deadline');

const REPO = path.resolve(__dirname, '..', '..');
const EVENT_MS = 5000;

/**
 * A registry of things to release after each test.
 *
 * @returns {{socket: (url: string|string[], opts?: object) => ResilientSocket,
 *   add: <T extends {close?: Function, stop?: Function}>(thing: T) => T,
 *   cleanup: () => Promise<void>}}
 */
function makeTracker() {
  const sockets = [];
  const others = [];
  return {
    socket(url, opts) {
      const s = new ResilientSocket(url, opts);
      sockets.push(s);
      return s;
    },
    add(thing) {
      others.push(thing);
      return thing;
    },
    async cleanup() {
      // Sockets first: a server closing under an open socket would start a reconnect loop.
      const closing = sockets.splice(0).map((s) => withDeadline(s.close(), EVENT_MS, 'socket close in cleanup').catch(() => {}));
      await Promise.all(closing);
      for (const thing of others.splice(0).reverse()) {
        const stop = thing.close || thing.stop;
        await withDeadline(Promise.resolve(stop.call(thing)), EVENT_MS, 'server stop in cleanup').catch(() => {});
      }
    },
  };
}

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
