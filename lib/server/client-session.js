'use strict';

// One connected client: where its stream stands (replay, then live) and the queue of its inbound
// messages.
//
// The switch-over from replay to live, without a gap or a duplicate:
//   1. subscribe to the live stream first; live events are buffered while not yet live;
//   2. learn the client's position (query, header, or a first sync message);
//   3. replay from the store in pages, until a page comes back short. Every read starts after
//      the subscription, so it sees every event the subscription missed;
//   4. send the buffered live events with an id above the last one replayed, then go live.
// Events reach the client strictly in increasing id order; an id at or below the last one sent is
// never sent again.

const { positionFromRequest, positionFromSync, pick } = require('./resume-position');

const OPEN = 1;
const MAX_KEY_LENGTH = 1024; // the client's own limit for idempotency keys
const MAX_QUEUED_INBOUND = 1000; // inbound messages waiting for the handler before the socket pauses
const TEXT = Object.freeze({ binary: false }); // events are text frames, sent from a cached Buffer
const REPLAY_HIGH_WATER = 1024 * 1024; // bytes buffered on the socket before a replay waits

class ClientSession {
  /**
   * @param {import('./resilient-server').ResilientServer} server
   * @param {import('ws').WebSocket} ws
   * @param {import('http').IncomingMessage} req
   * @param {string} stream
   */
  constructor(server, ws, req, stream) {
    this.server = server;
    this.opts = server.opts;
    this.stats = server.counters;
    this.ws = ws;
    this.req = req;
    this.stream = stream;
    /** 'pending' → 'replaying' → 'live' → 'closed' */
    this.phase = 'pending';
    /** @type {Array<{id: number, data: string}>} live events held until the replay is done */
    this.held = [];
    this.lastSent = -1;
    this.unsubscribe = null;
    this.syncTimer = null;
    this.awaitingFirstMessage = false;
    this.inbound = Promise.resolve();
    this.queued = 0;
    this.position = new Promise((resolve) => { this.resolvePosition = resolve; });
    this.ctxBase = { stream, req, ws, open: () => ws.readyState === OPEN };

    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.once('close', () => this.onClose());
  }

  /** Subscribes, learns the position, replays, goes live. Never rejects. */
  async start() {
    const fromRequest = positionFromRequest(this.req, this.opts.routes);
    if (fromRequest) this.resolvePosition(fromRequest);
    else if (this.opts.sync && this.opts.syncTimeout > 0) {
      // A client resuming via 'message' sends its sync message first thing; a fresh client sends
      // nothing. Live events published meanwhile are held, not lost.
      this.awaitingFirstMessage = true;
      this.syncTimer = setTimeout(() => this.firstMessage({ via: 'none', after: null }), this.opts.syncTimeout);
    } else this.resolvePosition({ via: 'none', after: null });

    try {
      const unsubscribe = await this.server.store.subscribe(this.stream, (event) => this.onLive(event));
      if (this.phase === 'closed') {
        unsubscribe();
        return;
      }
      this.unsubscribe = unsubscribe;
      const { via, after } = await this.position;
      if (this.phase === 'closed') return;
      await this.begin(via, after);
    } catch (err) {
      this.server.storeFailed(err, 'replay');
      // The client reconnects and resumes; 1011 says "server error, try again".
      if (this.ws.readyState === OPEN) this.ws.close(1011, 'event store unavailable');
    }
  }

  /** The first message settled the position (or the wait ran out). */
  firstMessage(position) {
    if (!this.awaitingFirstMessage) return;
    this.awaitingFirstMessage = false;
    clearTimeout(this.syncTimer);
    this.syncTimer = null;
    this.resolvePosition(position);
  }

  /**
   * Replays from `after` (null: a fresh client, nothing to replay) and goes live.
   *
   * @param {string} via
   * @param {number|null} after
   */
  async begin(via, after) {
    this.phase = 'replaying';
    this.server.emit('resume', { stream: this.stream, via, after });
    const store = this.server.store;
    const replayPageSize = this.opts.replayPageSize;
    if (after === null) {
      // Fresh (or an unusable position): everything published since it connected, then live.
      this.goLive(-1);
      return;
    }
    this.stats.replays += 1;
    let page = await store.read(this.stream, after, replayPageSize);
    if (this.phase === 'closed') return;
    const { oldest, latest } = page;
    if (after > latest) {
      // An id this stream never assigned: the store lost its history (a restarted memory store
      // with a fixed firstId, a Redis without persistence). Replay cannot be trusted.
      this.sendReset('position-unknown', after, oldest, latest);
      this.goLive(latest);
      return;
    }
    if (after < latest && (oldest === null || after + 1 < oldest)) {
      // Events after `after` are no longer retained: a partial replay would hide a gap.
      this.sendReset('position-too-old', after, oldest, latest);
      this.goLive(latest);
      return;
    }
    let cursor = after;
    for (;;) {
      const { events } = page;
      for (let i = 0; i < events.length; i++) {
        if (events[i].id <= cursor) continue;
        this.sendEvent(events[i]);
        cursor = events[i].id;
        this.stats.replayedEvents += 1;
      }
      if (events.length < replayPageSize || this.ws.readyState !== OPEN) break;
      // Fetch the next page while this one drains: with Redis the round trip then overlaps the
      // socket writes instead of following them.
      const next = store.read(this.stream, cursor, replayPageSize);
      next.catch(() => {}); // awaited below; a rejection must not count as unhandled meanwhile
      await this.drained();
      page = await next;
      if (this.phase === 'closed') return;
    }
    this.goLive(cursor);
  }

  /** Sends the held live events above `upTo`, then delivers live. */
  goLive(upTo) {
    if (this.phase === 'closed') return;
    if (this.lastSent < upTo) this.lastSent = upTo;
    const held = this.held;
    this.held = [];
    this.phase = 'live';
    for (const event of held) this.onLive(event);
  }

  /** @param {{id: number, data: string}} event */
  onLive(event) {
    if (this.phase === 'live') {
      if (event.id <= this.lastSent) return;
      if (event.id > this.lastSent + 1 && this.lastSent > 0) {
        // Ids are contiguous per stream, so a jump means events this node never saw (its Redis
        // tail fell behind the trimming, or Redis lost data). The client resumes on its next
        // connection and gets a replay or an honest reset, never a silent gap.
        this.phase = 'closed';
        this.ws.close(1013, 'gap in the live stream');
        return;
      }
      this.sendEvent(event);
      return;
    }
    if (this.phase === 'closed') return;
    if (this.held.length >= this.opts.maxPendingEvents) {
      // The replay cannot keep up with the live stream: rather than buffer without bound, ask
      // the client to come back (1013 Try Again Later); it resumes from what it has.
      this.phase = 'closed';
      this.held = [];
      this.ws.close(1013, 'replay too far behind');
      return;
    }
    this.held.push(event);
  }

  sendEvent(event) {
    const ws = this.ws;
    if (ws.readyState !== OPEN) return;
    if (ws.bufferedAmount > this.opts.maxBufferedBytes) {
      // A consumer this far behind is dropped: it reconnects and resumes from what it has, which
      // bounds our memory instead of buffering for it.
      this.stats.slowConsumerTerminations += 1;
      this.phase = 'closed';
      ws.terminate();
      return;
    }
    this.lastSent = event.id;
    this.stats.delivered += 1;
    this.server.cork(ws);
    ws.send(this.server.wire(event), TEXT);
  }

  sendReset(reason, after, oldest, latest) {
    this.stats.resets += 1;
    // No event id field: a reset is not an event, and the client must not take it as a position
    // (reconnecting before the next event gives the same reset again).
    const msg = { type: 'reset', reason, after, oldest, latest };
    if (this.ws.readyState === OPEN) this.ws.send(JSON.stringify(msg));
    this.server.emit('reset', { stream: this.stream, ...msg });
  }

  /**
   * Resolves once the socket's send buffer is below REPLAY_HIGH_WATER, so a long replay is paced
   * by the client's reading speed instead of piling up in memory.
   */
  drained() {
    const sock = this.ws._socket;
    if (this.ws.readyState !== OPEN || !sock || this.ws.bufferedAmount < REPLAY_HIGH_WATER) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        sock.off('drain', done);
        sock.off('close', done);
        resolve();
      };
      sock.on('drain', done);
      sock.on('close', done);
    });
  }

  onMessage(data, isBinary) {
    let json;
    let text = null;
    if (!isBinary) {
      text = data.toString('utf8');
      try { json = JSON.parse(text); } catch { json = undefined; }
    }
    const sync = this.opts.sync;
    if (sync && json !== undefined) {
      const pos = positionFromSync(json, sync);
      if (pos !== undefined) {
        if (this.awaitingFirstMessage) {
          this.stats.syncMessages += 1;
          this.firstMessage({ via: 'message', after: pos });
        } else {
          this.stats.lateSyncs += 1; // the position was settled already; replaying now would reorder
        }
        return;
      }
    }
    if (this.awaitingFirstMessage) this.firstMessage({ via: 'none', after: null });
    this.enqueue(isBinary ? data : (json === undefined ? text : json), isBinary, json);
  }

  /** Queues one inbound message for the handler; messages of a connection are handled in order. */
  enqueue(message, isBinary, json) {
    let key;
    if (json !== null && typeof json === 'object' && !Array.isArray(json)) {
      key = pick(json, this.opts.keyPath);
      if (key !== undefined && (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH)) {
        this.stats.badMessages += 1; // a key we could not dedupe on: neither handled nor acked
        return;
      }
    }
    const ctx = { ...this.ctxBase, key, isBinary };
    this.queued += 1;
    if (this.queued === MAX_QUEUED_INBOUND && this.ws._socket) this.ws._socket.pause(); // backpressure
    this.inbound = this.inbound.then(() => this.handle(message, key, ctx)).finally(() => {
      this.queued -= 1;
      if (this.queued === MAX_QUEUED_INBOUND / 2 && this.ws._socket) this.ws._socket.resume();
    });
  }

  async handle(message, key, ctx) {
    if (key === undefined) {
      if (!this.server.onMessage) return;
      try {
        await this.server.onMessage(message, ctx);
      } catch (err) {
        this.stats.handlerErrors += 1;
        this.server.emit('handler-error', err, { stream: this.stream });
      }
      return;
    }
    await this.server.dedupe.process(message, key, ctx, (text) => {
      if (this.ws.readyState === OPEN) this.ws.send(text);
    });
  }

  onClose() {
    this.phase = 'closed';
    this.held = [];
    clearTimeout(this.syncTimer);
    this.awaitingFirstMessage = false;
    this.resolvePosition({ via: 'none', after: null }); // lets start() finish
    if (this.unsubscribe) this.unsubscribe();
    this.unsubscribe = null;
  }
}

module.exports = { ClientSession };
