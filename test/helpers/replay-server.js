'use strict';

// The reference replay server (on `ws`): what a server that supports resume looks like.
// Used by the resume/outbox tests and by the demo.
//
// Protocol:
// - Events are numbered 1..N and sent as JSON text `{"id":n,"type":"event","data":...}`.
//   The last `keep` events are kept for replay.
// - A client says where it stopped with `?after=<id>` (query parameter name: `param`),
//   a `Last-Event-ID` header, or a first message `{"type":"sync","lastEventId":<id>}`.
//   The server then sends every kept event with a larger id, in order, then continues live.
//   Each connection's resume position is logged in `server.log` as `{ via, after }`.
// - A connection with neither query nor header waits up to `awaitSyncMs` for a first
//   message; live events published meanwhile are held (not lost). If that message is
//   not a sync, or none arrives, the connection gets events published since it connected.
//   A sync that arrives later is still honoured: the missing kept events are sent then
//   (logged with `late: true`; they arrive after newer live events).
// - If the requested id fell out of the buffer (events were dropped), the server first
//   sends `{"type":"reset","oldest":<oldest kept id>}`, then every kept event. It never
//   fabricates events. A requested id newer than the newest is logged with `future: true`
//   and the connection simply goes live.
// - With `ackField` (e.g. 'key'), an inbound JSON object carrying that field is answered
//   with `{"type":"ack","key":<value>}` (while acking is on). Every inbound message
//   except sync messages is recorded in `server.received`.

const http = require('http');
const { WebSocketServer } = require('ws');

const MAX_CLIENT_BUFFER = 16 * 1024 * 1024;

/**
 * @typedef {object} ResumeLogEntry
 * @property {'query'|'header'|'message'|'none'} via how the client said where it stopped
 * @property {number|null} after the id it asked to resume after (null: fresh client)
 * @property {boolean} [reset] a reset message was sent (events were lost)
 * @property {boolean} [late] the sync message arrived after the wait window
 * @property {boolean} [future] the id is newer than anything published
 * @property {number} connection 1-based connection index
 */

/**
 * @typedef {object} ReceivedMessage
 * @property {string|Buffer} data raw payload
 * @property {any} json parsed JSON, or null
 * @property {any} key value of `ackField`, if any
 * @property {number} connection 1-based connection index
 */

/**
 * Starts the reference replay server.
 *
 * @param {object} [opts]
 * @param {number} [opts.port=0]
 * @param {string} [opts.host='127.0.0.1']
 * @param {number} [opts.keep=1000] events kept for replay
 * @param {number} [opts.rateHz=0] ticker rate; > 0 starts the ticker at once
 * @param {number} [opts.firstId=1] id of the first event (a "restarted" server can continue)
 * @param {(id: number) => any} [opts.makeData] ticker event data; default `tick-<id>`
 * @param {string} [opts.param='after'] query parameter carrying the resume id
 * @param {number} [opts.awaitSyncMs=250] how long a connection without query/header
 *   resume waits for a sync message before going live (0: do not wait)
 * @param {string} [opts.ackField] JSON field whose value is acknowledged
 * @returns {Promise<ReplayServer>}
 */
async function startReplayServer(opts = {}) {
  const keep = opts.keep === undefined ? 1000 : opts.keep;
  if (!(Number.isInteger(keep) && keep >= 1)) throw new RangeError('startReplayServer: keep must be an integer >= 1');
  const param = opts.param || 'after';
  const awaitSyncMs = opts.awaitSyncMs === undefined ? 250 : opts.awaitSyncMs;
  const makeData = opts.makeData || ((id) => `tick-${id}`);
  const ackField = opts.ackField || null;

  /** @type {Array<{id: number, text: string}>} ring of kept events, oldest first */
  const events = [];
  let nextId = opts.firstId || 1;
  let ticker = null;
  let acking = true;
  let connectionCount = 0;
  let closed = false;
  const log = [];
  const received = [];
  /** @type {Set<Client>} */
  const clients = new Set();

  const httpServer = http.createServer((req, res) => {
    res.writeHead(426, { 'Content-Type': 'text/plain' });
    res.end('WebSocket only\n');
  });
  const sockets = new Set();
  httpServer.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const wss = new WebSocketServer({ server: httpServer, perMessageDeflate: false });
  wss.on('error', () => {});

  /** Sends a text frame unless the connection is gone or hopelessly behind. */
  function sendText(ws, text) {
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > MAX_CLIENT_BUFFER) {
      ws.terminate(); // bounded memory: a client this far behind is dropped
      return;
    }
    ws.send(text);
  }

  /** Kept events with id > after, in order. */
  function keptAfter(after) {
    // ids in `events` are contiguous, so index arithmetic finds the start.
    if (events.length === 0) return [];
    const start = Math.max(0, after + 1 - events[0].id);
    return events.slice(start);
  }

  /**
   * One connected client and where its stream stands.
   */
  class Client {
    constructor(ws, index) {
      this.ws = ws;
      this.index = index;
      this.live = false;
      this.connectedAt = nextId - 1; // last id published before the connection
      this.sentUpTo = this.connectedAt; // last id sent (events are sent in increasing order)
      this.syncTimer = null;
    }

    /** Replays from `after` (null: nothing to replay) and goes live. */
    startFrom(via, after) {
      clearTimeout(this.syncTimer);
      this.syncTimer = null;
      const entry = { via, after, connection: this.index };
      const head = nextId - 1;
      if (after !== null && after <= head) {
        const oldest = events.length ? events[0].id : nextId;
        if (after + 1 < oldest) {
          entry.reset = true;
          sendText(this.ws, JSON.stringify({ type: 'reset', oldest }));
        }
        for (const e of keptAfter(after)) sendText(this.ws, e.text);
      } else {
        // Fresh client (or one claiming an id we never published): it gets what was
        // published since it connected, including events held while awaiting a sync.
        if (after !== null) entry.future = true;
        for (const e of keptAfter(this.connectedAt)) sendText(this.ws, e.text);
      }
      this.sentUpTo = head;
      log.push(entry);
      this.live = true;
    }

    /** A sync message on a live connection: send the kept events it is missing. */
    lateSync(after) {
      const entry = { via: 'message', after, late: true, connection: this.index };
      const missing = keptAfter(after).filter((e) => e.id <= this.connectedAt);
      const oldest = events.length ? events[0].id : nextId;
      if (after + 1 < oldest && after < this.connectedAt) {
        entry.reset = true;
        sendText(this.ws, JSON.stringify({ type: 'reset', oldest }));
      }
      for (const e of missing) sendText(this.ws, e.text);
      log.push(entry);
    }

    /** Live delivery of one new event. */
    deliver(e) {
      if (!this.live || e.id <= this.sentUpTo) return;
      sendText(this.ws, e.text);
      this.sentUpTo = e.id;
    }
  }

  /** Parses a resume id; anything but a non-negative integer counts as absent. */
  function parseId(value) {
    if (value === undefined || value === null || value === '') return null;
    const n = Number(value);
    return Number.isSafeInteger(n) && n >= 0 ? n : null;
  }

  /** @returns {number|null} lastEventId if `json` is a sync message */
  function syncId(json) {
    if (!json || typeof json !== 'object' || json.type !== 'sync') return null;
    return parseId(json.lastEventId);
  }

  wss.on('connection', (ws, req) => {
    connectionCount += 1;
    const client = new Client(ws, connectionCount);
    clients.add(client);
    ws.on('error', () => {});
    ws.on('close', () => {
      clearTimeout(client.syncTimer);
      clients.delete(client);
    });

    ws.on('message', (data, isBinary) => {
      const text = isBinary ? null : data.toString('utf8');
      let json = null;
      if (text !== null) {
        try { json = JSON.parse(text); } catch { json = null; }
      }
      const sid = syncId(json);
      if (sid !== null) {
        if (client.live) client.lateSync(sid);
        else client.startFrom('message', sid);
        return;
      }
      if (!client.live) client.startFrom('none', null); // first message was not a sync
      const key = json && typeof json === 'object' && ackField ? json[ackField] : undefined;
      received.push({ data: isBinary ? data : text, json, key, connection: client.index });
      if (ackField && key !== undefined && acking) {
        sendText(ws, JSON.stringify({ type: 'ack', key }));
      }
    });

    const url = new URL(req.url, 'http://replay.invalid');
    const fromQuery = parseId(url.searchParams.get(param));
    const fromHeader = parseId(req.headers['last-event-id']);
    if (fromQuery !== null) client.startFrom('query', fromQuery);
    else if (fromHeader !== null) client.startFrom('header', fromHeader);
    else if (awaitSyncMs > 0) {
      client.syncTimer = setTimeout(() => client.startFrom('none', null), awaitSyncMs);
    } else client.startFrom('none', null);
  });

  await new Promise((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen({ host: opts.host || '127.0.0.1', port: opts.port || 0 }, () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
  const { port } = httpServer.address();
  const host = opts.host || '127.0.0.1';

  /**
   * @typedef {object} ReplayServer
   * @property {WebSocketServer} wss
   * @property {number} port
   * @property {string} url `ws://<host>:<port>/`
   * @property {ResumeLogEntry[]} log
   * @property {ReceivedMessage[]} received
   * @property {number} head newest id
   * @property {number} oldest oldest kept id
   */
  const server = {
    wss,
    port,
    url: `ws://${host}:${port}/`,
    /** Entries `{ via, after, ... }`, one per connection once its resume position is known. */
    log,
    /** Inbound messages except sync messages, in arrival order. */
    received,

    /**
     * @param {string} [pathAndQuery='/']
     * @returns {string}
     */
    urlFor(pathAndQuery = '/') {
      return `ws://${host}:${port}${pathAndQuery.startsWith('/') ? '' : '/'}${pathAndQuery}`;
    },

    /** @returns {number} id of the newest event (firstId - 1 if none yet) */
    get head() { return nextId - 1; },
    /** @returns {number} id of the oldest kept event (head + 1 if none) */
    get oldest() { return events.length ? events[0].id : nextId; },

    /**
     * Publishes one event to every live client and keeps it for replay.
     *
     * @param {any} data any JSON value
     * @returns {number} the event's id
     */
    publish(data) {
      if (closed) throw new Error('replay server is closed');
      const id = nextId;
      nextId += 1;
      const e = { id, text: JSON.stringify({ id, type: 'event', data }) };
      events.push(e);
      if (events.length > keep) events.splice(0, events.length - keep);
      for (const c of clients) c.deliver(e);
      return id;
    },

    /**
     * Starts (or restarts at a new rate) the ticker that publishes `makeData(id)`.
     *
     * @param {number} [rateHz=opts.rateHz || 10] events per second
     */
    start(rateHz = opts.rateHz || 10) {
      server.stop();
      if (closed) return;
      const intervalMs = 1000 / rateHz;
      // Catch up on late timers so the rate holds on a busy machine (bounded per tick).
      let nextAt = Date.now();
      const tick = () => {
        const now = Date.now();
        let burst = 0;
        while (nextAt <= now && burst < 1000) {
          server.publish(makeData(nextId));
          nextAt += intervalMs;
          burst += 1;
        }
        if (burst === 1000) nextAt = now + intervalMs;
        ticker = setTimeout(tick, Math.max(0, nextAt - Date.now()));
      };
      tick();
    },

    /** Stops the ticker (connections stay open). */
    stop() {
      clearTimeout(ticker);
      ticker = null;
    },

    /** @param {boolean} on whether to answer messages carrying `ackField` */
    setAcking(on) { acking = on; },

    /** @returns {number} currently connected clients */
    clientCount() { return clients.size; },

    /** Drops every connection without a close frame (clients see 1006). */
    terminateAll() { for (const c of clients) c.ws.terminate(); },

    /**
     * Sends a close frame to every connection.
     *
     * @param {number} [code=1001]
     * @param {string} [reason='']
     */
    closeAll(code = 1001, reason = '') { for (const c of clients) c.ws.close(code, reason); },

    /** @returns {Promise<void>} stops the ticker, drops every connection, closes; idempotent */
    async close() {
      if (closed) return;
      closed = true;
      server.stop();
      for (const c of clients) {
        clearTimeout(c.syncTimer);
        c.ws.terminate();
      }
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => wss.close(() => resolve()));
      await new Promise((resolve) => httpServer.close(() => resolve()));
    },
  };

  if (opts.rateHz > 0) server.start(opts.rateHz);
  return server;
}

module.exports = { startReplayServer };
