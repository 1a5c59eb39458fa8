'use strict';

// Starts test/helpers/py-ws-server.py (Python `websockets` 10.4) as a child process:
// an independent WebSocket implementation to test against. Uses Debian's
// /usr/bin/python3 explicitly: the python3 first on PATH may be another install that
// cannot import Debian's python3-websockets.

const { spawn, execFileSync } = require('child_process');
const path = require('path');

const PYTHON = '/usr/bin/python3';
const SCRIPT = path.join(__dirname, 'py-ws-server.py');
const START_TIMEOUT_MS = 10000;
const STOP_TIMEOUT_MS = 3000;

let availability = null;

/**
 * Tells whether `/usr/bin/python3 -c "import websockets"` works (cached).
 *
 * @returns {boolean}
 */
function pythonAvailable() {
  if (availability === null) {
    try {
      execFileSync(PYTHON, ['-I', '-c', 'import websockets'], { stdio: 'ignore', timeout: 10000 });
      availability = true;
    } catch {
      availability = false;
    }
  }
  return availability;
}

/**
 * One line for skipped tests, e.g. `console.log(pythonSkipMessage())`.
 *
 * @returns {string}
 */
function pythonSkipMessage() {
  return `SKIP: Python websockets peer unavailable (${PYTHON} -c "import websockets" failed; `
    + 'install with: apt-get install python3-websockets)';
}

/**
 * Starts the Python WebSocket server on 127.0.0.1, port 0.
 *
 * @param {object} [opts]
 * @param {'echo'|'replay'} [opts.mode='echo']
 * @param {number} [opts.rateHz=20] replay: events per second (0: no ticker)
 * @param {number} [opts.keep=1000] replay: events kept for resume
 * @param {number} [opts.count=0] replay: stop generating after this many (0: never)
 * @param {string[]} [opts.protocols] subprotocols the server accepts
 * @param {number} [opts.startTimeout=10000] ms to wait for the port line
 * @returns {Promise<{port: number, url: string, urlFor: (pathAndQuery?: string) => string,
 *   pid: number, stderr: () => string, stop: () => Promise<void>}>}
 */
function startPythonServer(opts = {}) {
  const args = ['-I', '-u', SCRIPT, '--mode', opts.mode || 'echo'];
  if (opts.rateHz !== undefined) args.push('--rate', String(opts.rateHz));
  if (opts.keep !== undefined) args.push('--keep', String(opts.keep));
  if (opts.count !== undefined) args.push('--count', String(opts.count));
  if (opts.protocols && opts.protocols.length) args.push('--protocols', opts.protocols.join(','));

  // stdin stays a pipe: the server exits when it reaches EOF, so it cannot outlive us.
  const child = spawn(PYTHON, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => {
    if (stderr.length < 65536) stderr += d;
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  child.stdin.on('error', () => {});

  let stopping = null;
  const stop = () => {
    if (stopping) return stopping;
    stopping = (async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      let timer;
      const killed = await Promise.race([
        exited.then(() => false),
        new Promise((resolve) => { timer = setTimeout(() => resolve(true), STOP_TIMEOUT_MS); }),
      ]);
      clearTimeout(timer);
      if (killed) {
        child.kill('SIGKILL');
        await exited;
      }
      child.stdin.destroy();
    })();
    return stopping;
  };

  return new Promise((resolve, reject) => {
    let out = '';
    let settled = false;
    const fail = (err) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stop().then(() => reject(err));
    };
    const timer = setTimeout(() => {
      fail(new Error(`Python server did not print its port within ${opts.startTimeout || START_TIMEOUT_MS} ms; stderr:\n${stderr}`));
    }, opts.startTimeout || START_TIMEOUT_MS);
    child.once('error', (err) => fail(err));
    exited.then(({ code, signal }) => {
      fail(new Error(`Python server exited early (code ${code}, signal ${signal}); stderr:\n${stderr}`));
    });
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      if (settled) return;
      out += d;
      const nl = out.indexOf('\n');
      if (nl === -1) return;
      const port = Number(out.slice(0, nl).trim());
      if (!Number.isInteger(port) || port <= 0) {
        fail(new Error(`Python server printed '${out.slice(0, nl)}' instead of a port; stderr:\n${stderr}`));
        return;
      }
      settled = true;
      clearTimeout(timer);
      child.stdout.resume(); // keep draining; the script prints nothing else
      resolve({
        port,
        pid: child.pid,
        url: `ws://127.0.0.1:${port}/`,
        urlFor: (pathAndQuery = '/') => `ws://127.0.0.1:${port}${pathAndQuery.startsWith('/') ? '' : '/'}${pathAndQuery}`,
        stderr: () => stderr,
        stop,
      });
    });
  });
}

module.exports = { startPythonServer, pythonAvailable, pythonSkipMessage, PYTHON };
