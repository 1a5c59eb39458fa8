'use strict';

// A TCP proxy that sits between a client under test and a real server and injects
// network faults on command: silent drops, resets, refused connections, latency and
// bandwidth limits. It works below WebSocket (plain bytes), so it also works for wss://.
//
// Every socket and timer it creates is tracked and released by stop().

const net = require('net');
const { listenOnStablePort } = require('./ports');

const MODES = new Set(['pass', 'blackhole', 'stall', 'reset', 'close', 'refuse']);
const MAX_REQUEST_LINE = 8192;

/**
 * @typedef {object} ProxyRequest
 * @property {string} line   first line the client sent, e.g. `GET /feed?after=42 HTTP/1.1`
 * @property {string} method e.g. `GET`
 * @property {string} target request target, e.g. `/feed?after=42`
 * @property {number} connection 1-based index of the accepted connection
 */

/**
 * @typedef {object} FaultProxy
 * @property {number} port listening port (stable across refuse on/off)
 * @property {ProxyRequest[]} requests first request line of each connection, in order
 * @property {number} accepted total connections accepted so far
 * @property {(pathAndQuery?: string) => string} url `ws://127.0.0.1:<port><path>`
 * @property {(pathAndQuery?: string) => string} urlFor alias of url()
 * @property {(mode: string) => Promise<void>} setMode see startFaultProxy
 * @property {(ms: number) => void} setLatency one-way delay added per chunk, both directions
 * @property {(bytesPerSecond: number) => void} setBandwidth 0 = unlimited
 * @property {(target: {host?: string, port: number}) => void} setTarget upstream for new connections
 * @property {() => void} resetAll RST both sides of every open connection
 * @property {() => void} closeAll FIN both sides of every open connection
 * @property {(on: boolean) => Promise<void>} refuse stop/resume listening (real ECONNREFUSED)
 * @property {() => number} connections number of currently open proxied connections
 * @property {() => Promise<void>} stop close everything; idempotent
 */

/**
 * Starts a fault-injecting TCP proxy on 127.0.0.1.
 *
 * Modes (`setMode`):
 * - `'pass'`: forward bytes both ways (with the configured latency/bandwidth).
 * - `'blackhole'`: keep both sockets open but forward nothing, not even FIN or RST;
 *   bytes are read and discarded. New connections are accepted and blackholed too.
 *   The silent drop only a heartbeat notices. Data sent meanwhile is lost for good, so
 *   returning to `'pass'` leaves a corrupted stream: tests usually just wait for the
 *   client to give up on the connection.
 * - `'stall'`: stop reading both sockets (data stays in kernel buffers and TCP flow
 *   control pushes back on the sender). Returning to `'pass'` delivers everything.
 * - `'reset'`: RST every open connection and every new one as soon as it is accepted.
 * - `'close'`: FIN every open connection and every new one as soon as it is accepted.
 * - `'refuse'`: stop listening, so new connections get a genuine ECONNREFUSED;
 *   open connections are left alone. Leaving `'refuse'` listens again on the same port.
 *
 * @param {object} opts
 * @param {{host?: string, port: number}} opts.target upstream server
 * @param {string} [opts.scheme='ws'] scheme used by `url()`
 * @param {string} [opts.host='127.0.0.1'] host used by `url()` (the proxy always binds 127.0.0.1)
 * @param {number} [opts.latency=0] initial one-way latency in ms
 * @param {number} [opts.port=0] port to listen on (0: a free one below the range listen(0) picks from, which
 *   no other process takes while 'refuse' has released it)
 * @returns {Promise<FaultProxy>}
 */
async function startFaultProxy(opts) {
  if (!opts || !opts.target || !Number.isInteger(opts.target.port)) {
    throw new TypeError('startFaultProxy: opts.target.port (integer) is required');
  }
  let target = { host: opts.target.host || '127.0.0.1', port: opts.target.port };
  const scheme = opts.scheme || 'ws';
  const urlHost = opts.host || '127.0.0.1';

  let mode = 'pass';
  let latency = opts.latency || 0;
  let bandwidth = 0;
  let accepted = 0;
  let stopped = false;
  let listener = null;
  let port = 0;
  /** @type {Set<Pair>} */
  const pairs = new Set();
  const requests = [];

  /**
   * One proxied connection: the accepted client socket and our socket to the target.
   * Each direction has its own ordered delivery queue so latency keeps byte order.
   */
  class Pair {
    constructor(client, index) {
      this.index = index;
      this.client = client;
      this.upstream = null;
      this.closed = false;
      this.requestLine = Buffer.alloc(0);
      this.requestLineDone = false;
      this.up = new Direction(this, client, 'up');       // client -> upstream
      this.down = null;                                  // upstream -> client
    }

    /** Connects to the target and wires both directions. */
    start() {
      const upstream = net.connect({ host: target.host, port: target.port, allowHalfOpen: true });
      upstream.setNoDelay(true);
      this.client.setNoDelay(true);
      this.upstream = upstream;
      this.up.dst = upstream;
      this.down = new Direction(this, upstream, 'down');
      this.down.dst = this.client;
      this.up.attach();
      this.down.attach();
      // Until the upstream connect completes, writes to it are buffered by net itself.
    }

    /** Forcibly RSTs both sides. */
    reset() {
      rst(this.client);
      if (this.upstream) rst(this.upstream);
      this.finish();
    }

    /** Gracefully FINs both sides, destroying them if they linger. */
    end() {
      for (const s of [this.client, this.upstream]) {
        if (!s || s.destroyed) continue;
        s.end();
        const t = setTimeout(() => s.destroy(), 1000);
        t.unref();
        s.once('close', () => clearTimeout(t));
      }
    }

    /** Destroys both sockets and drops queued data. */
    destroy() {
      this.client.destroy();
      if (this.upstream) this.upstream.destroy();
      this.finish();
    }

    /** Forgets this pair once both sockets are gone. */
    finish() {
      if (this.up) this.up.clear();
      if (this.down) this.down.clear();
      const bothClosed = this.client.destroyed && (!this.upstream || this.upstream.destroyed);
      if (bothClosed) {
        this.closed = true;
        pairs.delete(this);
      }
    }

    /** Records the first request line (the HTTP upgrade target) once. */
    sniff(chunk) {
      if (this.requestLineDone) return;
      this.requestLine = Buffer.concat([this.requestLine, chunk]);
      const eol = this.requestLine.indexOf('\r\n');
      if (eol === -1 && this.requestLine.length < MAX_REQUEST_LINE) return;
      this.requestLineDone = true;
      const line = this.requestLine.subarray(0, eol === -1 ? MAX_REQUEST_LINE : eol).toString('latin1');
      this.requestLine = null;
      const [method = '', reqTarget = ''] = line.split(' ');
      requests.push({ line, method, target: reqTarget, connection: this.index });
    }
  }

  /** One direction of a pair: reads `src`, delivers to `dst` in order after the delay. */
  class Direction {
    constructor(pair, src, name) {
      this.pair = pair;
      this.src = src;
      this.dst = null;
      this.name = name;
      this.queue = []; // { due, buf } | { due, end: true }
      this.lastDue = 0;
      this.timer = null;
      this.blocked = false; // dst.write() returned false
    }

    attach() {
      const { src } = this;
      src.on('data', (chunk) => this.onData(chunk));
      src.on('end', () => this.onEnd());
      src.on('error', () => {}); // 'close' (hadError) handles it
      src.on('close', (hadError) => this.onClose(hadError));
      this.updateFlow();
    }

    onData(chunk) {
      if (this.name === 'up') this.pair.sniff(chunk);
      if (mode === 'blackhole') return; // read and discard
      this.enqueue({ buf: chunk }, chunk.length);
    }

    onEnd() {
      if (mode === 'blackhole') return; // a blackhole drops FINs too
      this.enqueue({ end: true }, 0);
    }

    onClose(hadError) {
      const peer = this.dst;
      if (mode === 'blackhole' && peer && !peer.destroyed) {
        // The other side must not learn about it; keep its socket open.
        this.pair.finish();
        return;
      }
      if (hadError && peer) {
        rst(peer); // mirror a reset
      } else if (peer && !peer.destroyed) {
        this.enqueue({ end: true }, 0);
        this.enqueue({ destroy: true }, 0);
      }
      this.pair.finish();
    }

    enqueue(item, bytes) {
      const now = Date.now();
      // Never earlier than the previous item: latency changes must not reorder bytes.
      let due = Math.max(now + latency, this.lastDue);
      if (bandwidth > 0 && bytes > 0) due += (bytes * 1000) / bandwidth;
      this.lastDue = due;
      item.due = due;
      this.queue.push(item);
      this.pump();
    }

    pump() {
      if (this.timer) return;
      while (this.queue.length > 0) {
        const head = this.queue[0];
        const wait = head.due - Date.now();
        if (wait > 0) {
          this.timer = setTimeout(() => {
            this.timer = null;
            this.pump();
          }, Math.ceil(wait));
          return;
        }
        this.queue.shift();
        this.deliver(head);
      }
    }

    deliver(item) {
      const dst = this.dst;
      if (!dst || dst.destroyed) return;
      if (item.buf) {
        if (mode === 'blackhole') return;
        if (!dst.write(item.buf)) {
          this.blocked = true;
          this.updateFlow();
          dst.once('drain', () => {
            this.blocked = false;
            this.updateFlow();
          });
        }
      } else if (item.end) {
        dst.end();
      } else if (item.destroy) {
        // Let the FIN go out first; destroy only what remains after it is flushed.
        if (dst.writableFinished) dst.destroy();
        else dst.once('finish', () => dst.destroy());
      }
    }

    /** Reads from src unless stalled or the destination is pushing back. */
    updateFlow() {
      if (this.src.destroyed) return;
      if (mode === 'stall' || this.blocked) this.src.pause();
      else this.src.resume();
    }

    clear() {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      this.queue = [];
    }
  }

  /** Sends RST (waiting for a pending connect first, as Node does), else destroys. */
  function rst(socket) {
    if (socket.destroyed) return;
    socket.resetAndDestroy();
  }

  function onConnection(client) {
    if (stopped) {
      client.destroy();
      return;
    }
    accepted += 1;
    client.on('error', () => {});
    if (mode === 'reset') {
      rst(client);
      return;
    }
    if (mode === 'close') {
      client.end();
      client.resume(); // drain whatever the client sends so it can close
      const t = setTimeout(() => client.destroy(), 1000);
      t.unref();
      client.once('close', () => clearTimeout(t));
      return;
    }
    const pair = new Pair(client, accepted);
    pairs.add(pair);
    pair.start();
  }

  function listen(onPort) {
    return new Promise((resolve, reject) => {
      const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: false }, onConnection);
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: onPort, exclusive: true }, () => {
        server.off('error', reject);
        server.on('error', () => {});
        listener = server;
        port = server.address().port;
        resolve();
      });
    });
  }

  function unlisten() {
    if (!listener) return Promise.resolve();
    const server = listener;
    listener = null;
    // server.close() stops accepting at once; its callback waits for accepted sockets,
    // which we track ourselves, so do not wait for it.
    server.close();
    return Promise.resolve();
  }

  // On a port of its own, not one from listen(0)'s range: 'refuse' releases it for a while, and
  // leaving 'refuse' listens on it again.
  await (opts.port ? listen(opts.port) : listenOnStablePort(listen));

  const proxy = {
    get port() {
      return port;
    },
    get accepted() {
      return accepted;
    },
    get mode() {
      return mode;
    },
    requests,

    /**
     * @param {string} [pathAndQuery='/']
     * @returns {string}
     */
    url(pathAndQuery = '/') {
      const p = pathAndQuery.startsWith('/') ? pathAndQuery : `/${pathAndQuery}`;
      return `${scheme}://${urlHost}:${port}${p}`;
    },

    /**
     * @param {'pass'|'blackhole'|'stall'|'reset'|'close'|'refuse'} next
     * @returns {Promise<void>} resolves once the listener state matches the mode
     */
    async setMode(next) {
      if (!MODES.has(next)) {
        throw new RangeError(`setMode: unknown mode '${next}' (use ${[...MODES].join(', ')})`);
      }
      const previous = mode;
      mode = next;
      if (next === 'refuse') {
        await unlisten();
      } else if (previous === 'refuse' && !stopped) {
        await listen(port);
      }
      if (next === 'reset') proxy.resetAll();
      if (next === 'close') proxy.closeAll();
      if (previous === 'blackhole' && next !== 'blackhole') {
        // A pair whose one side died during the blackhole can never recover: drop it.
        for (const pair of [...pairs]) {
          if (pair.client.destroyed || (pair.upstream && pair.upstream.destroyed)) pair.destroy();
        }
      }
      for (const pair of pairs) {
        pair.up.updateFlow();
        if (pair.down) pair.down.updateFlow();
      }
    },

    /**
     * Same as url() (name shared with the other helpers, whose `url` is a string).
     *
     * @param {string} [pathAndQuery='/']
     * @returns {string}
     */
    urlFor(pathAndQuery = '/') {
      return proxy.url(pathAndQuery);
    },

    /** @param {number} ms one-way delay per chunk (applies to chunks read from now on) */
    setLatency(ms) {
      if (!(ms >= 0)) throw new RangeError('setLatency: ms must be >= 0');
      latency = ms;
    },

    /** @param {number} bytesPerSecond per direction and connection; 0 = unlimited */
    setBandwidth(bytesPerSecond) {
      if (!(bytesPerSecond >= 0)) throw new RangeError('setBandwidth: must be >= 0');
      bandwidth = bytesPerSecond;
    },

    /** @param {{host?: string, port: number}} next upstream for connections accepted from now on */
    setTarget(next) {
      target = { host: next.host || '127.0.0.1', port: next.port };
    },

    /** RSTs both sides of every open connection (the mode is unchanged). */
    resetAll() {
      for (const pair of [...pairs]) pair.reset();
    },

    /** FINs both sides of every open connection (the mode is unchanged). */
    closeAll() {
      for (const pair of [...pairs]) pair.end();
    },

    /**
     * @param {boolean} [on=true] true: stop listening (ECONNREFUSED); false: back to 'pass'
     * @returns {Promise<void>}
     */
    refuse(on = true) {
      if (on) return proxy.setMode('refuse');
      return mode === 'refuse' ? proxy.setMode('pass') : Promise.resolve();
    },

    /** @returns {number} currently open proxied connections */
    connections() {
      for (const pair of [...pairs]) pair.finish();
      return pairs.size;
    },

    /** @returns {Promise<void>} closes the listener and destroys every connection */
    async stop() {
      if (stopped) return;
      stopped = true;
      const server = listener;
      listener = null;
      for (const pair of [...pairs]) pair.destroy();
      pairs.clear();
      if (server) await new Promise((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}

module.exports = { startFaultProxy };
