'use strict';

// Small helpers shared by the benchmarks and scripts/timeline-svg.js.

const { spawn } = require('child_process');
const path = require('path');

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

/**
 * The command line that runs `node <args…>` with optional CPU pinning (`taskset -c <cpu>`, the
 * way an outside benchmark pins client and far end to one core) and a raised fd limit.
 * @param {string[]} nodeArgs
 * @param {{pinCpu?: number|null, fdLimit?: number|null}} [how]
 * @returns {{file: string, args: string[]}}
 */
function nodeCommand(nodeArgs, { pinCpu = null, fdLimit = null } = {}) {
  let argv = [process.execPath, ...nodeArgs];
  if (pinCpu !== null) argv = ['taskset', '-c', String(pinCpu), ...argv];
  if (fdLimit === null) return { file: argv[0], args: argv.slice(1) };
  // `exec` keeps one process, so the pid (and its CPU time in /proc) is node's.
  const quoted = argv.map((a) => `'${String(a).replace(/'/g, "'\\''")}'`).join(' ');
  return { file: '/bin/sh', args: ['-c', `ulimit -n ${fdLimit} && exec ${quoted}`] };
}

/**
 * Spawns bench/frame-server.js (the far end, in its own process) and waits for the port it prints.
 * @param {{pinCpu?: number|null, fdLimit?: number|null}} [how] see nodeCommand
 * @returns {Promise<{port: number, child: import('child_process').ChildProcess}>}
 */
function startFrameServer(how) {
  return new Promise((resolve, reject) => {
    const { file, args } = nodeCommand([path.join(__dirname, 'frame-server.js')], how);
    const child = spawn(file, args, {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let out = '';
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error('frame server did not print its port within 10 s'));
    }, 10000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`frame server exited early (code ${code}, signal ${signal})`));
    });
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', function onData(chunk) {
      out += chunk;
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.stdout.resume();
      const port = Number(out.slice(0, nl).trim());
      if (!Number.isInteger(port) || port <= 0) reject(new Error(`frame server printed ${out.slice(0, nl)}`));
      else resolve({ port, child });
    });
  });
}

/**
 * Run `file args…`, resolve with the last line it printed on stdout (a JSON result), reject
 * with its last stderr line when it fails or outlives `ms`.
 * @returns {Promise<any>}
 */
function runJsonChild(file, args, ms, what) {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${what} timed out after ${ms} ms`));
    }, ms);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const lines = out.trim().split('\n');
      if (code !== 0) {
        const why = err.trim().split('\n').filter(Boolean).pop() || `exit code ${code}, signal ${signal}`;
        reject(new Error(`${what}: ${why}`));
        return;
      }
      try {
        resolve(JSON.parse(lines[lines.length - 1]));
      } catch {
        reject(new Error(`${what} printed no result`));
      }
    });
  });
}

module.exports = { deferred, once, startFrameServer, nodeCommand, runJsonChild };
