'use strict';

// The server companion: attaches to a `ws` WebSocketServer and speaks the resilient-ws protocol
// (README "Wire protocol"): numbered events with replay from the client's position, resets, acks
// for keyed inbound messages, pings, and close codes that make clients come back at once.

const { EventEmitter } = require('events');
const { normalizeServerOptions } = require('./server-options');
const { MemoryStore } = require('./memory-store');
const { ServerStats } = require('./server-stats');
const { Liveness } = require('./liveness');
const { AckDedupe } = require('./ack-dedupe');
const { ClientSession } = require('./client-session');
const { invalidOption } = require('../errors');

/** Close codes for `shutdown()`: both make the client reconnect at once. */
const SHUTDOWN_CODES = { restart: 1012, deploy: 1001 };

class ResilientServer extends EventEmitter {
  /**
   * @param {object} options see server.d.ts ServerOptions
   */
  constructor(options) {
    super();
    const opts = normalizeServerOptions(options);
    this.opts = opts;
    this.ownStore = !opts.store;
    this.store = opts.store || new MemoryStore();
    this.counters = new ServerStats();
    this.onMessage = opts.onMessage;
    this.sessions = new Set();
    /** @type {Set<import('ws').WebSocket>} connections this server accepted (an attached wss may have others) */
    this.sockets = new Set();
    this.closing = null;
    this.wireKey = Symbol('wire'); // per-server cache of an event's encoded frame payload
    // Sockets corked in this tick: many events fanned out in one tick (a burst of publishes, a
    // batch from the Redis tail, a replay page) leave in one write per client instead of one
    // write per event and client — the difference between ~1,000 and ~1 syscall per event.
    this.corked = new Set();
    this.uncorkAll = () => {
      for (const sock of this.corked) sock.uncork();
      this.corked.clear();
    };
    this.encodeParts = encoderParts(opts.idPath, opts.eventType);
    this.dedupe = new AckDedupe({
      store: this.store,
      keyTtl: opts.keyTtl,
      keyLease: opts.keyLease,
      onMessage: opts.onMessage,
      ackMatch: opts.ackMatch,
      ackKeyPath: opts.ackKeyPath,
      stats: this.counters,
      emit: (name, ...args) => this.emit(name, ...args),
    });
    this.liveness = opts.ping ? new Liveness(opts.ping, () => { this.counters.livenessTerminations += 1; }) : null;

    this.onStoreError = (err) => this.storeFailed(err, 'store');
    this.onStoreRecovered = (info) => this.emit('store-recovered', info || {});
    if (typeof this.store.on === 'function') {
      this.store.on('error', this.onStoreError);
      this.store.on('recovered', this.onStoreRecovered);
    }

    if (opts.wss) {
      this.wss = opts.wss;
      this.ownWss = false;
      this.listening = Promise.resolve();
    } else {
      const { WebSocketServer } = loadWs();
      const common = { path: opts.path, maxPayload: opts.maxMessageSize, perMessageDeflate: false };
      this.wss = opts.server
        ? new WebSocketServer({ server: opts.server, ...common })
        : new WebSocketServer({ port: opts.port, host: opts.host, ...common });
      this.ownWss = true;
      this.listening = opts.server ? Promise.resolve() : new Promise((resolve, reject) => {
        this.wss.once('listening', resolve);
        this.wss.once('error', reject);
      });
      this.listening.catch(() => {}); // the caller awaits it; never an unhandled rejection
    }
    // Tail the default stream from the start: a fresh client (no position) gets the events
    // published after the subscription of its session, and with Redis the first subscription of a
    // node costs a round trip; warming it here makes "after its upgrade" hold for the default
    // stream. `listening` waits for it.
    this.warmUnsubscribe = null;
    if (!options.stream) {
      const warm = this.store.subscribe('default', () => {}).then((unsubscribe) => { this.warmUnsubscribe = unsubscribe; });
      this.listening = Promise.all([this.listening, warm]).then(() => {});
      this.listening.catch(() => {});
    }
    this.onConnection = (ws, req) => this.accept(ws, req);
    this.wss.on('connection', this.onConnection);
  }

  /** @returns {number|undefined} the listening port with option `port` (after `listening`) */
  get port() {
    const addr = this.ownWss && !this.opts.server ? this.wss.address() : null;
    return addr && typeof addr === 'object' ? addr.port : undefined;
  }

  /** Takes over one upgraded connection. */
  accept(ws, req) {
    this.counters.connections += 1;
    this.counters.connectionsTotal += 1;
    let session = null;
    this.sockets.add(ws);
    ws.on('error', () => {}); // a broken peer is a normal disconnect, counted in 'close'
    ws.once('close', (code) => {
      this.counters.disconnect(code);
      this.sockets.delete(ws);
      if (session) this.sessions.delete(session);
    });
    if (this.closing) {
      ws.close(this.closing.code, this.closing.reason);
      return;
    }
    let stream;
    try {
      stream = this.opts.stream(req);
      if (typeof stream !== 'string' || stream.length === 0) throw new TypeError('option stream must return a non-empty string');
    } catch (err) {
      this.emit('handler-error', err, { stream: null });
      ws.close(1011, 'no stream for this request');
      return;
    }
    session = new ClientSession(this, ws, req, stream);
    this.sessions.add(session);
    if (this.liveness) this.liveness.add(ws);
    this.emit('connection', { stream, url: req.url });
    session.start();
  }

  /**
   * Publishes one event: assigns the stream's next id, keeps it for replay, and fans it out to
   * every live subscriber (on every node sharing the store).
   *
   * @param {unknown} data any JSON-serializable value (the event's `data`)
   * @param {{ stream?: string }} [options]
   * @returns {Promise<number>} the event's id
   */
  async publish(data, options) {
    const stream = options && options.stream !== undefined ? options.stream : 'default';
    if (typeof stream !== 'string' || stream.length === 0) throw invalidOption('type', 'publish(): option stream must be a non-empty string');
    const json = JSON.stringify(data);
    if (json === undefined) throw invalidOption('type', 'publish(): data must be JSON-serializable (not undefined or a function)');
    const id = await this.store.append(stream, json);
    this.counters.published += 1;
    return id;
  }

  /**
   * The frame payload of an event, built once per event object and shared by every client.
   *
   * @param {{ id: number, data: string }} event
   * @returns {Buffer}
   */
  wire(event) {
    let buf = event[this.wireKey];
    if (buf === undefined) {
      buf = Buffer.from(this.encodeParts[0] + event.id + this.encodeParts[1] + event.data + '}');
      event[this.wireKey] = buf;
    }
    return buf;
  }

  /**
   * Corks the connection's socket until the end of this tick (process.nextTick runs after the
   * current callback and its promise jobs), so the frames of this tick leave together.
   *
   * @param {import('ws').WebSocket} ws
   */
  cork(ws) {
    const sock = ws._socket;
    if (!sock || this.corked.has(sock)) return;
    sock.cork();
    this.corked.add(sock);
    if (this.corked.size === 1) process.nextTick(this.uncorkAll);
  }

  /** @returns {object} a copy of the counters (server.d.ts ServerStats) */
  stats() {
    return this.counters.snapshot();
  }

  storeFailed(err, step) {
    this.counters.storeErrors += 1;
    this.emit('store-error', err, { step });
  }

  /**
   * Closes every connection with 1012 (restart) or 1001 (deploy), so clients reconnect at once
   * (to another node, or to this one once it is back); new connections are closed the same way.
   * Resolves when every connection has closed (those that do not answer within `timeout` ms are
   * terminated). Then stops pings and, if this server created them, the WebSocketServer and the
   * memory store. A store you passed in stays open (close it yourself).
   *
   * @param {{ reason?: 'restart'|'deploy', timeout?: number }} [options]
   * @returns {Promise<void>}
   */
  shutdown(options = {}) {
    if (this.closing) return this.closing.done;
    const reason = options.reason === undefined ? 'restart' : options.reason;
    if (!(reason in SHUTDOWN_CODES)) throw invalidOption('type', `shutdown(): reason must be 'restart' or 'deploy', got ${String(reason)}`);
    const timeout = options.timeout === undefined ? 5000 : options.timeout;
    const code = SHUTDOWN_CODES[reason];
    const text = reason === 'restart' ? 'server restart' : 'server going away';
    this.closing = { code, reason: text, done: null };
    this.closing.done = (async () => {
      const open = [...this.sockets].filter((ws) => ws.readyState <= 1);
      const closed = open.map((ws) => new Promise((resolve) => {
        if (ws.readyState === 3) resolve();
        else ws.once('close', resolve);
      }));
      for (const ws of open) ws.close(code, text);
      let timer;
      await Promise.race([Promise.all(closed), new Promise((resolve) => { timer = setTimeout(resolve, timeout); })]);
      clearTimeout(timer);
      for (const ws of open) if (ws.readyState !== 3) ws.terminate();
      if (this.liveness) this.liveness.stop();
      this.wss.off('connection', this.onConnection);
      if (this.warmUnsubscribe) this.warmUnsubscribe();
      if (this.ownWss) await new Promise((resolve) => this.wss.close(() => resolve()));
      if (typeof this.store.off === 'function') {
        this.store.off('error', this.onStoreError);
        this.store.off('recovered', this.onStoreRecovered);
      }
      if (this.ownStore) await this.store.close();
    })();
    return this.closing.done;
  }

  /** Same as `shutdown({ reason: 'deploy' })`: close 1001 Going Away. */
  close() {
    return this.shutdown({ reason: 'deploy' });
  }
}

/** Loads `ws` (an optional peer dependency: only servers need it), or explains how to get it. */
function loadWs() {
  try {
    return require('ws');
  } catch (err) {
    if (err && err.code === 'MODULE_NOT_FOUND' && /'ws'/.test(err.message)) {
      const e = new Error("ResilientServer with option server or port needs the 'ws' package (8.x): npm install ws");
      e.code = 'ERR_MISSING_DEPENDENCY';
      throw e;
    }
    throw err;
  }
}

/**
 * The text around id and data in an event message: `{"id":` + id + `,"type":"event","data":` +
 * data + `}`. A dotted idField nests the id (`meta.id` → `{"meta":{"id":7},…}`).
 *
 * @param {string[]} idPath
 * @param {string|null} eventType
 * @returns {[string, string]}
 */
function encoderParts(idPath, eventType) {
  const open = idPath.map((step) => `{${JSON.stringify(step)}:`).join('');
  const close = '}'.repeat(idPath.length - 1);
  const type = eventType === null ? '' : `,"type":${JSON.stringify(eventType)}`;
  return [open, `${close}${type},"data":`];
}

module.exports = { ResilientServer, SHUTDOWN_CODES };
