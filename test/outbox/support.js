'use strict';

// Shared plumbing for the outbox tests: real temp directories, real child processes, sockets
// and servers, all registered here and released in afterEach whether the test passed or not.

const { spawn } = require('child_process');
const fs = require('fs');
const path = require('path');
const { onceWithin } = require('../helpers/deadline');
const { refusedPort } = require('../helpers/ports');

const FIXTURES = path.join(__dirname, 'fixtures');
const EVENT_MS = 5000;

const { makeTracker: makeSharedTracker } = require('../helpers/tracker');

/** The shared tracker; corrupt-outbox 'error' events are asserted where they matter. */
const makeTracker = () => makeSharedTracker({ ignoreErrorEvents: true });

/** @returns {Promise<any>} the first argument of the next `event`, within `ms` */
async function next(emitter, event, ms = EVENT_MS) {
  const [first] = await onceWithin(emitter, event, ms);
  return first;
}

/**
 * A loopback URL that refuses connections: connecting gets a genuine ECONNREFUSED.
 *
 * @returns {Promise<string>}
 */
async function refusedUrl() {
  return `ws://127.0.0.1:${await refusedPort()}/`;
}

/**
 * Runs a fixture script as a real child process and collects its output.
 *
 * @param {string} script file name under fixtures/
 * @param {object} args passed as one JSON argument
 * @param {object} [opts]
 * @param {string[]} [opts.prefix] command to run node under (e.g. strace ...)
 * @returns {{child: import('child_process').ChildProcess, stdout: () => string,
 *   stderr: () => string, exited: Promise<{code: number|null, signal: string|null}>}}
 */
function runFixture(script, args, opts = {}) {
  const argv = [process.execPath, path.join(FIXTURES, script), JSON.stringify(args)];
  const cmd = opts.prefix ? [...opts.prefix, ...argv] : argv;
  const child = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
  child.stderr.setEncoding('utf8').on('data', (d) => { err += d; });
  const exited = new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** The JSON lines a fixture printed, parsed (non-JSON lines skipped). */
function jsonLines(text) {
  const result = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try { result.push(JSON.parse(line)); } catch { /* a partial line of a killed child */ }
  }
  return result;
}

/**
 * Records, across every connection of a server from startWsServer, each inbound message in true
 * arrival order (server.connections keeps them per connection only).
 *
 * @returns {{onConnection: Function, connections: () => number,
 *   arrivals: Array<{text: string, connection: number}>}}
 */
function arrivalRecorder() {
  const arrivals = [];
  let connections = 0;
  return {
    arrivals,
    /** @returns {number} connections seen so far */
    connections: () => connections,
    onConnection(ws) {
      const connection = ++connections;
      ws.on('message', (data, isBinary) => arrivals.push({ text: isBinary ? null : data.toString('utf8'), connection }));
    },
  };
}

/**
 * Bytes of every file under dir (not recursive: the outbox is flat). A live outbox deletes
 * segments as their messages are delivered: one gone between the listing and its stat counts 0.
 */
function directoryBytes(dir) {
  let total = 0;
  for (const name of fs.readdirSync(dir)) {
    const stat = fs.statSync(path.join(dir, name), { throwIfNoEntry: false });
    if (stat) total += stat.size;
  }
  return total;
}

module.exports = {
  FIXTURES, EVENT_MS, makeTracker, next, refusedUrl, runFixture, jsonLines, arrivalRecorder, directoryBytes,
};
