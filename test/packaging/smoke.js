'use strict';
// The smoke suite run against an INSTALLED package (not the repo) on every Node binary of the
// matrix, arm64 under qemu included. A plain Node script, not Jest: it must run on the bare
// official binaries. Exit code 0 = every check passed; one line per check on stdout.
//
//   RWS_SMOKE_PROJECT=<dir with node_modules/resilient-ws>   (default: cwd)
//   RWS_SMOKE_CERTS=<dir with ca.crt, valid.crt, valid.key>   (from test/helpers/certs.js)
//   NODE_EXTRA_CA_CERTS=<that dir>/ca.crt                     checks the default trust store
//
// Checks: ws and wss round trips (wss with an explicit tls.ca and with Node's default trust
// store, which must agree with https.get in the same process), reconnect after a server
// restart, a file outbox reopened by a new socket, and terminating a worker thread that has an
// open socket. `ws` comes from the repo's node_modules (pure JS), the package from the project.
const assert = require('assert');
const fs = require('fs');
const http = require('http');
const https = require('https');
const os = require('os');
const path = require('path');
const { Worker } = require('worker_threads');
const { WebSocketServer } = require('ws');

const STEP_MS = Number(process.env.RWS_SMOKE_STEP_MS || 20000); // qemu is ~10x slower
const project = process.env.RWS_SMOKE_PROJECT || process.cwd();
// By directory, not by name: inside the repo, require.resolve('resilient-ws') would be the
// package's self-reference (the repo itself), whatever `paths` says.
const pkgPath = require.resolve(path.join(project, 'node_modules', 'resilient-ws'));
const { ResilientSocket } = require(pkgPath);

/**
 * @template T
 * @param {Promise<T>} promise
 * @param {string} what
 * @returns {Promise<T>}
 */
function within(promise, what) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${STEP_MS} ms: ${what}`)), STEP_MS);
    // A deadline never holds the process: the losing side of a race (an 'open' that never
    // comes because 'failed' did) must not keep node alive for STEP_MS after the last check.
    timer.unref();
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/**
 * @param {import('events').EventEmitter} emitter
 * @param {string} event
 * @returns {Promise<any>}
 */
function once(emitter, event) {
  return within(new Promise((resolve) => emitter.once(event, (...args) => resolve(args[0]))), `'${event}'`);
}

/**
 * An echo server (ws or wss) on 127.0.0.1/localhost, restartable on the same port.
 * @param {{ cert?: string, key?: string, port?: number }} [opts]
 */
async function startEcho(opts = {}) {
  const server = opts.cert ? https.createServer({ cert: opts.cert, key: opts.key }) : http.createServer();
  server.on('request', (req, res) => res.end('ok'));
  const sockets = new Set();
  server.on(opts.cert ? 'secureConnection' : 'connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port || 0, '127.0.0.1', resolve);
  });
  const port = server.address().port;
  return {
    port,
    url: `${opts.cert ? 'wss://localhost' : 'ws://127.0.0.1'}:${port}/`,
    async stop() {
      for (const c of wss.clients) c.terminate();
      for (const s of sockets) s.destroy();
      wss.close();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * Opens a socket, checks one text and one binary echo, closes it.
 * @param {string} url
 * @param {object} [options]
 */
async function roundTrip(url, options = {}) {
  const sock = new ResilientSocket(url, { reconnect: false, ...options });
  try {
    const failed = new Promise((_, reject) => sock.once('failed', ({ error }) => reject(error)));
    await Promise.race([once(sock, 'open'), failed]);
    const text = once(sock, 'message');
    await within(sock.send('hello'), 'send text');
    assert.strictEqual(await text, 'hello');
    const bin = once(sock, 'message');
    await within(sock.send(Buffer.from([1, 2, 3, 255])), 'send binary');
    assert.deepStrictEqual([...(await bin)], [1, 2, 3, 255]);
  } finally {
    await within(sock.close(), 'close');
  }
}

/** wss with Node's default trust store: must succeed exactly when https.get does. */
async function defaultTrust(server) {
  const httpsOk = await within(new Promise((resolve) => {
    https.get(`https://localhost:${server.port}/`, (res) => {
      res.resume();
      resolve(true);
    }).on('error', () => resolve(false));
  }), 'https.get');
  const sock = new ResilientSocket(server.url, { reconnect: false });
  try {
    const result = await Promise.race([
      once(sock, 'open').then(() => 'open'),
      once(sock, 'failed').then(({ error }) => error.code),
    ]);
    assert.strictEqual(result === 'open', httpsOk, `wss gave ${result}, https.get ${httpsOk ? 'succeeded' : 'failed'}`);
    return result;
  } finally {
    await within(sock.close(), 'close');
  }
}

async function reconnectAfterRestart() {
  let server = await startEcho();
  const port = server.port;
  const sock = new ResilientSocket(server.url, {
    reconnect: { initialDelay: 50, maxDelay: 200 },
    heartbeat: false,
  });
  try {
    await once(sock, 'open');
    const disconnected = once(sock, 'disconnect');
    await server.stop();
    await disconnected;
    server = await startEcho({ port });
    const opened = await once(sock, 'open');
    assert.strictEqual(opened.reconnected, true);
    const echoed = once(sock, 'message');
    await within(sock.send('after restart'), 'send after restart');
    assert.strictEqual(await echoed, 'after restart');
  } finally {
    await within(sock.close(), 'close');
    await server.stop();
  }
}

async function outboxReopen() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rws-smoke-outbox-'));
  try {
    // Offline: nothing listens on this URL, so the messages stay in the file.
    const first = new ResilientSocket('ws://127.0.0.1:9/', {
      outbox: { path: dir },
      reconnect: { initialDelay: 60000, maxDelay: 60000 },
    });
    const receipts = await within(Promise.all([first.send('one'), first.send('two')]), 'persisted sends');
    assert.deepStrictEqual(receipts.map((r) => r.status), ['persisted', 'persisted']);
    await within(first.close(), 'close first');
    const server = await startEcho();
    const got = [];
    const second = new ResilientSocket(server.url, { outbox: { path: dir } });
    try {
      await within(new Promise((resolve) => second.on('message', (m) => {
        got.push(m);
        if (got.length === 2) resolve();
      })), 'redelivered outbox');
      assert.deepStrictEqual(got, ['one', 'two']);
    } finally {
      await within(second.close(), 'close second');
      await server.stop();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function workerTermination() {
  const server = await startEcho();
  const source = `
    const { parentPort, workerData } = require('worker_threads');
    const { ResilientSocket } = require(workerData.pkg);
    const sock = new ResilientSocket(workerData.url);
    sock.on('open', () => sock.send('from worker'));
    sock.on('message', (m) => parentPort.postMessage(m));
  `;
  const worker = new Worker(source, { eval: true, workerData: { pkg: pkgPath, url: server.url } });
  try {
    assert.strictEqual(await once(worker, 'message'), 'from worker');
    await within(worker.terminate(), 'worker.terminate()');
    await roundTrip(server.url); // the main thread's addon instance still works
  } finally {
    await server.stop();
  }
}

async function main() {
  // Until the last line below: if the event loop empties while a check still waits (the
  // deadlines are unref'd), node exits early, and that must count as a failure.
  process.exitCode = 1;
  const started = Date.now();
  const results = [];
  const check = async (name, fn) => {
    const t = Date.now();
    try {
      const note = await fn();
      results.push(true);
      console.log(`ok   ${name} (${Date.now() - t} ms)${note ? ` ${note}` : ''}`);
    } catch (err) {
      results.push(false);
      console.log(`FAIL ${name}: ${err && err.stack}`);
    }
  };
  console.log(`smoke: node ${process.version} ${process.platform}-${process.arch}, ` +
    `openssl ${process.versions.openssl}, package ${path.dirname(path.dirname(pkgPath))}`);
  const plain = await startEcho();
  await check('ws round trip', () => roundTrip(plain.url));
  await plain.stop();

  const certDir = process.env.RWS_SMOKE_CERTS;
  if (certDir) {
    const read = (f) => fs.readFileSync(path.join(certDir, f), 'utf8');
    const secure = await startEcho({ cert: read('valid.crt'), key: read('valid.key') });
    await check('wss round trip (tls.ca)', () => roundTrip(secure.url, { tls: { ca: read('ca.crt') } }));
    await check('wss default trust store agrees with https.get', async () => {
      const result = await defaultTrust(secure);
      if (process.env.NODE_EXTRA_CA_CERTS) assert.strictEqual(result, 'open', 'NODE_EXTRA_CA_CERTS not honoured');
      return `(${result}${process.env.NODE_EXTRA_CA_CERTS ? ', NODE_EXTRA_CA_CERTS' : ''})`;
    });
    await secure.stop();
  } else {
    console.log('skip wss checks: RWS_SMOKE_CERTS not set');
  }
  await check('reconnect after a server restart', reconnectAfterRestart);
  await check('file outbox reopened by a new socket', outboxReopen);
  await check('worker thread terminated with an open socket', workerTermination);
  const failed = results.filter((r) => !r).length;
  console.log(`smoke: ${results.length - failed}/${results.length} passed in ${Date.now() - started} ms`);
  process.exitCode = failed ? 1 : 0;
}

main().catch((err) => {
  console.log(`FAIL smoke: ${err && err.stack}`);
  process.exitCode = 1;
});
