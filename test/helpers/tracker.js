'use strict';

// A registry of what a test creates, released in afterEach whether the test passed or not:
// sockets first (a server closing under an open socket would start a reconnect loop), then
// child processes (SIGKILL), then servers and proxies (close() or stop(), newest first), then
// temporary directories.

const fs = require('fs');
const os = require('os');
const path = require('path');
const { ResilientSocket } = require('../../lib');
const { withDeadline } = require('./deadline');

const CLEANUP_MS = 5000;

/**
 * @param {{ignoreErrorEvents?: boolean}} [options] ignoreErrorEvents: give every socket an
 *   'error' listener (tests that assert on corrupt-outbox errors where they matter)
 * @returns {{socket: (url: string|string[], opts?: object) => ResilientSocket,
 *   add: <T>(thing: T) => T, child: <C>(child: C) => C, tempDir: (label?: string) => string,
 *   cleanup: () => Promise<void>}}
 */
function makeTracker({ ignoreErrorEvents = false } = {}) {
  const sockets = [];
  const children = [];
  const others = [];
  const dirs = [];
  return {
    socket(url, opts) {
      const s = new ResilientSocket(url, opts);
      if (ignoreErrorEvents) s.on('error', () => {});
      sockets.push(s);
      return s;
    },
    /** A server or proxy with close() or stop(). */
    add(thing) {
      others.push(thing);
      return thing;
    },
    /** A child process, killed (SIGKILL) after the test if still running. */
    child(child) {
      children.push(child);
      return child;
    },
    /** A fresh directory under the system temp dir, removed after the test. */
    tempDir(label = 'test') {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), `rws-${label}-`));
      dirs.push(dir);
      return dir;
    },
    async cleanup() {
      await Promise.all(
        sockets.splice(0).map((s) => withDeadline(s.close(), CLEANUP_MS, 'socket close in cleanup').catch(() => {})),
      );
      for (const c of children.splice(0)) {
        if (c.exitCode === null && c.signalCode === null) {
          const exited = new Promise((resolve) => c.once('exit', resolve));
          c.kill('SIGKILL');
          await withDeadline(exited, CLEANUP_MS, 'child exit in cleanup').catch(() => {});
        }
      }
      for (const thing of others.splice(0).reverse()) {
        const stop = thing.close || thing.stop;
        await withDeadline(Promise.resolve(stop.call(thing)), CLEANUP_MS, 'stop in cleanup').catch(() => {});
      }
      for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

module.exports = { makeTracker };
