'use strict';

const { ListenerTableEmitter } = require('./listener-table');
const native = require('./native');
const { ensureDefaultTrustStore } = require('./trust-store');

const { normalizeOptions } = require('./options');
const { SendState, PersistedUnwritten, generatedKey } = require('./send-state');
const { payloadKey, keyWithPayload, MAX_KEY_LENGTH } = require('./payload-key');
const { KIND, FIELDS, RECEIPT_STATUS, HANDED_TO_KERNEL } = require('./event-codes');
const { ResilientSocketError, fromNative, invalidOption } = require('./errors');
const diagnostics = require('./diagnostics');

let lastSocketId = 0;

// What Buffer.prototype.subarray() makes, made directly: a run's messages are views of one
// buffer, and the constructor skips subarray()'s species lookup and argument checks (13 ns
// against 37 per view on Node 20: ~2 % of a 1 KiB message's cost to JavaScript). `ws` cuts its
// messages the same way.
const FastBuffer = Buffer[Symbol.species];

// A `heartbeat` event costs JavaScript a wake-up per pong, and on an idle socket nothing else
// wakes it, so the io thread reports pongs only while somebody would see them: a socket's own
// 'heartbeat' listener (see addListener below) or the environment's heartbeat channel.
diagnostics.watchSubscribers('heartbeat', (subscribed) => native.setHeartbeatSubscribed(subscribed));
// The binding hands every batch to this one function, with the socket as `this`: no bound
// function per socket, and the method is looked up as JavaScript looks it up.
native.setEventHandler(function deliverEvents(batch, lengths) {
  return this._onEvents(batch, lengths);
});

/**
 * Binary payloads at least this large are copied by the binding at the send() call (stage():
 * that copy is what keeps a reused buffer safe) instead of into a JS snapshot that the binding
 * copies again at the end of the tick. They still travel in the tick's one batch: a crossing to
 * the io thread per message cost more than the copy it saved (bench send-64k-bin: 8-18k vs
 * 12-22k msgs/s). Small payloads keep the JS snapshot, which is cheaper than a native call.
 */
const STAGE_BYTES = 16 * 1024;
/**
 * A send() at least this large, with nothing of its tick queued before it, is offered to the
 * binding at the call (writeNow): on an open socket with nothing else to write it goes to the
 * kernel from this thread, as with ws. A bufferedAmount loop of large messages then runs on this
 * thread alone instead of waking the io thread for every batch; on two cores the far end, the io
 * thread and this thread spinning on bufferedAmount had been three busy threads (bench
 * send-64k-bin, full runs: 0.89-1.19× ws before, 1.08-1.28× after). Smaller sends batch: one
 * write for many.
 */
const WRITE_NOW_BYTES = 16 * 1024;
/** In a send() batch, stands for the next payload the binding staged. */
const STAGED = true;

const PLAIN_INFO = Object.freeze({ replayed: false });

// A send()'s receipt takes its resolvers through one shared executor, not a new closure (and
// its context) per send: fewer objects that live until the receipt, which in a stream of
// durable sends survive young collections (Promise.withResolvers is Node 22+).
let capturedResolve = null;
let capturedReject = null;
function captureResolvers(resolve, reject) {
  capturedResolve = resolve;
  capturedReject = reject;
}

/**
 * The io thread sends state names as new strings with each event; a socket keeps these instead,
 * so thousands of idle sockets share one copy of each (as they share their URL's, see _onControlEvent).
 */
const STATE_NAMES = new Map(['idle', 'connecting', 'open', 'reconnecting', 'closing', 'closed', 'failed'].map((s) => [s, s]));

/**
 * A socket's yes/no fields, as bits of its one `_flags` field: six fields of their own took 40
 * bytes more per socket (bench idle-5000: memory). Accessors (defined below the class) keep the
 * code reading them as fields.
 */
const FLAGS = {
  _closeCalled: 1, // close() was called, or the socket closed for good
  _writeHere: 2, // open as this side has seen it, and no reconnect() since: direct sends allowed
  _attached: 4, // until the final 'close' releases the native side
  _refWanted: 8, // ref() (the default) rather than unref()
  _idle: 16, // made with autoConnect: false, and not connected yet
  _heartbeatListened: 32, // pongs are reported to this thread (see _listenToHeartbeats)
};

/**
 * A WebSocket client that reconnects, detects dead peers, resumes and keeps every message in
 * its outbox until delivered. The network runs on a native io thread; this class maps the
 * batches of events it delivers onto EventEmitter events.
 */
class ResilientSocket extends ListenerTableEmitter {
  /**
   * @param {string|string[]} url ws:// or wss:// URL, or a failover list
   * @param {object} [options] see binding.d.ts
   */
  constructor(url, options) {
    super();
    const config = normalizeOptions(url, options);
    /** Unique within the process: names the socket in the debug log and in diagnostics messages. */
    this.id = ++lastSocketId;
    this._url = config.displayUrls[0];
    this._state = config.autoConnect ? 'connecting' : 'idle';
    this._lastEventId = undefined;
    // _closeCalled, _writeHere, _attached, _refWanted, _idle and _heartbeatListened (see FLAGS)
    this._flags = 0;
    this._keyField = config.native.outbox.keyField; // '' when off
    /** @type {SendState | null} made by the first send() */
    this._sends = null;
    // Payload bytes accepted by send() and not yet handed to the kernel (this tick's batch, the
    // outbox, the write queue): += at send(), -= when the io thread reports them written.
    this._buffered = 0;
    /** @type {{promise: Promise<void>|null, resolve: Function|null, final: {code: number, reason: string}|null, stats: object|null} | null} */
    this._closing = null; // made by close() or by the final 'close', whichever comes first
    const t = config.native.tls;
    if (t.rejectUnauthorized && !t.ca && (config.native.followRedirects > 0 || config.native.urls.some((u) => u.secure))) {
      ensureDefaultTrustStore(native);
    }
    // The binding wraps this socket itself (no native handle object per socket) and delivers to
    // it (deliverEvents above): no bound function or closure per socket either.
    native.attach(this, config.native, config.autoConnect);
    this._attached = true;
    // Like a net.Socket that was never connected, an idle socket must not hold the process;
    // it starts holding it (unless unref()'d) when connect() or reconnect() starts an attempt.
    this._refWanted = true;
    this._idle = !config.autoConnect;
    if (this._idle) this._nativeUnref();
    this._duplicatesSeen = 0;
    diagnostics.publish('create', this, { url: this._url });
  }

  // EventEmitter's once(), prependOnceListener() and events.on()/once() come through these.
  addListener(name, listener) {
    if (name === 'heartbeat') this._listenToHeartbeats();
    return super.addListener(name, listener);
  }

  on(name, listener) {
    if (name === 'heartbeat') this._listenToHeartbeats();
    return super.on(name, listener);
  }

  prependListener(name, listener) {
    if (name === 'heartbeat') this._listenToHeartbeats();
    return super.prependListener(name, listener);
  }

  /** Pongs are reported from now on; the first one nobody listens to turns them off again. */
  _listenToHeartbeats() {
    if (this._heartbeatListened || !this._attached) return;
    this._heartbeatListened = true;
    this._nativeHeartbeatEvents(true);
  }

  /**
   * Publishes on the event's diagnostics channel, then emits it. Publishing first means a
   * listener that throws cannot hide the event from monitoring.
   */
  _announce(name, payload) {
    diagnostics.publish(name, this, payload);
    this.emit(name, payload);
  }

  /** @returns {string} */
  get state() {
    return this._state;
  }

  /** The URL of the current (or last) attempt, without credentials. */
  get url() {
    return this._url;
  }

  /** Id of the last message delivered (resume), or undefined. */
  get lastEventId() {
    return this._lastEventId;
  }

  /**
   * Payload bytes accepted by send() and not yet handed to the kernel — this tick's sends, the
   * outbox's unsent messages and the connection's write queue — as in browsers and `ws`.
   * Current synchronously (a JS counter, no native call), so a `ws`-style loop
   * `while (sock.bufferedAmount < limit) sock.send(x)` stops in time instead of overrunning
   * the outbox.
   */
  get bufferedAmount() {
    return this._buffered;
  }

  /** Messages not yet delivered per the outbox guarantee (including this tick's sends). */
  get outboxSize() {
    const batch = this._sends === null ? null : this._sends.batch;
    const queued = batch ? batch.items.length / 2 : 0;
    return (this._attached ? this._nativeStats().outboxSize : 0) + queued;
  }

  /**
   * Queues a message in the outbox. Resolves with a receipt once it reached the status the
   * guarantee asks for ('written', 'persisted' or 'acked').
   * @param {string|Buffer|ArrayBuffer|ArrayBufferView} data
   * @param {{key?: string}} [opts]
   * @returns {Promise<{key: string, seq: number, status: string}>}
   */
  send(data, opts) {
    if (typeof data !== 'string' && !Buffer.isBuffer(data) && !ArrayBuffer.isView(data) && !(data instanceof ArrayBuffer)) {
      throw invalidOption('type', `send(data): data must be a string, Buffer, ArrayBuffer or typed array, got ${typeof data}`);
    }
    let key;
    if (opts !== undefined) {
      if (opts === null || typeof opts !== 'object') throw invalidOption('type', 'send(data, opts): opts must be an object');
      if (opts.key !== undefined) {
        if (typeof opts.key !== 'string' || opts.key.length === 0 || opts.key.length > MAX_KEY_LENGTH) {
          throw invalidOption('type', `send(data, { key }): key must be a non-empty string of at most ${MAX_KEY_LENGTH} characters`);
        }
        key = opts.key;
      }
    }
    if (this._keyField !== '' && typeof data === 'string') {
      key = keyWithPayload(key, payloadKey(data, this._keyField), this._keyField);
    }
    if (this._closeCalled) {
      return Promise.reject(new ResilientSocketError('ERR_CLOSED', 'send() after close(): the socket is closed; create a new one'));
    }
    const sends = (this._sends ??= new SendState());
    const request = sends.nextRequest++;
    const bytes = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
    if (bytes >= STAGE_BYTES && ArrayBuffer.isView(data) && !(data instanceof Uint8Array)) {
      // The binding takes the bytes of a Uint8Array or an ArrayBuffer: other views (DataView,
      // Float64Array, element types newer than the binding) go as the bytes they cover.
      data = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    }
    if (bytes >= WRITE_NOW_BYTES && sends.batch === null && this._writeHere && this._attached) {
      // Nothing of this tick queued before it: the binding may write it to the socket now (it
      // declines, at once, what is over its limit or finds the socket busy).
      const seq = this._nativeWriteNow(request, data, key, bytes);
      if (seq >= 0) return this._sentNow(request, key, bytes, seq);
    }
    if (typeof data !== 'string') {
      // The batch crosses to the io thread at the end of this tick: copy now, so a buffer the
      // caller reuses right after send() goes out as it was at the call (as with ws).
      if (bytes >= STAGE_BYTES && this._attached) {
        this._nativeStage(data);
        data = STAGED;
      } else {
        data = ArrayBuffer.isView(data)
          ? Buffer.from(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
          : Buffer.from(new Uint8Array(data));
      }
    }
    this._buffered += bytes;
    if (sends.batch === null) {
      sends.batch = { first: request, items: [] };
      queueMicrotask((sends.flush ??= () => this._flush()));
    }
    sends.batch.items.push(data, key);
    return this._pendingPromise(request, key, bytes);
  }

  /**
   * A send() the binding took at the call (writeNow): written whole (seq), or in part with the
   * rest on its way to the io thread, whose receipt settles it (0).
   */
  _sentNow(request, key, bytes, seq) {
    this._buffered += bytes;
    const receipt = this._pendingPromise(request, key, bytes);
    if (seq > 0) this._settleDirect(request, seq);
    this._publishOutboxSize();
    return receipt;
  }

  _pendingPromise(request, key, bytes) {
    const receipt = new Promise(captureResolvers);
    this._sends.pending.add(request, capturedResolve, capturedReject, key, bytes);
    capturedResolve = capturedReject = null;
    return receipt;
  }

  /** Hands this tick's sends to the io thread in one call. */
  _flush() {
    const sends = this._sends;
    const batch = sends === null ? null : sends.batch;
    if (batch === null) return;
    sends.batch = null;
    if (!this._attached) return;
    // A lone message may go straight to the socket from this thread (the native side decides,
    // and only while _writeHere: no receipt before 'open', nothing after reconnect() on the
    // connection it drops): then its receipt is settled here, and nothing comes back for it from
    // the io thread.
    const seq = this._nativeSend(batch.first, batch.items, this._writeHere);
    if (seq > 0) this._settleDirect(batch.first, seq);
    this._publishOutboxSize();
  }

  /** A send() the binding wrote to the socket itself: 'written' now, as the io thread would say. */
  _settleDirect(request, seq) {
    const sends = this._sends;
    this._settleSent(request, 1, seq, 'written', (sends.keyPrefix ??= this._nativeKeyPrefix()));
    // The outbox never held it, but a sender waiting for 'drain' after its sends still gets one,
    // as when the io thread writes them: one for the tick, and only if nothing is waiting then
    // (else the io thread reports 'drain' when that is written).
    if (!sends.drainCheckQueued && this.listenerCount('drain') > 0) {
      sends.drainCheckQueued = true;
      process.nextTick(() => {
        sends.drainCheckQueued = false;
        if (this._attached && sends.batch === null && this._buffered === 0) this.emit('drain', {});
      });
    }
  }

  /**
   * This batch of events changed the outbox. Not only sends of this process: a file outbox
   * recovered from disk sends, and is acked, without any.
   */
  _noteOutboxChanged() {
    (this._sends ??= new SendState()).outboxChanged = true;
  }

  /** Outbox depth for monitoring: once per batch of sends or of receipts, only if anybody listens. */
  _publishOutboxSize() {
    if (this._sends !== null) this._sends.outboxChanged = false;
    if (diagnostics.wanted('outbox') && this._attached) {
      const s = this._nativeStats();
      diagnostics.publish('outbox', this, { size: s.outboxSize, bytes: s.outboxBytes });
    }
  }



  /**
   * Closes the connection (close handshake), flushes the outbox file and ends the socket.
   * Idempotent: every call returns the same promise.
   * @param {number} [code=1000]
   * @param {string} [reason='']
   * @returns {Promise<void>}
   */
  close(code = 1000, reason = '') {
    if (this._closing !== null && this._closing.promise !== null) return this._closing.promise;
    if (code !== 1000 && !(Number.isInteger(code) && code >= 3000 && code <= 4999)) {
      throw invalidOption('range', `close(code): code must be 1000 or 3000-4999, got ${code}`);
    }
    if (typeof reason !== 'string' || Buffer.byteLength(reason) > 123) {
      throw invalidOption('range', 'close(code, reason): reason must be a string of at most 123 bytes');
    }
    this._closeCalled = true;
    const closing = this._closingRecord();
    closing.promise = new Promise((resolve) => {
      closing.resolve = resolve;
    });
    if (closing.final !== null) {
      closing.resolve();
    } else {
      this._flush();
      // Until 'close' is delivered the socket holds the process, even if idle or unref()'d:
      // otherwise an awaited close() could be abandoned by an exiting event loop. The close
      // handshake is bounded (3 s), and so is a file outbox's wait for its disk (5 s; a disk silent
      // past that gets at most 10 s more), so this cannot keep a process alive for long.
      this._nativeRef();
      this._nativeClose(code, reason);
    }
    return closing.promise;
  }

  _closingRecord() {
    return (this._closing ??= { promise: null, resolve: null, final: null, stats: null });
  }

  /** Drops the current connection and starts a new attempt at once (no-op once closed). */
  reconnect() {
    if (this._attached && !this._closeCalled) {
      this._leaveIdle();
      // What is sent from here on belongs to the next connection: not written directly to this
      // one (the io thread may not have dropped it yet) until the next 'open'.
      this._writeHere = false;
      this._nativeReconnect();
    }
  }

  /** Starts connecting when constructed with autoConnect: false. */
  connect() {
    if (this._attached && !this._closeCalled) {
      this._leaveIdle();
      this._nativeConnect();
    }
  }

  /** The socket keeps the process alive while not closed (the default). */
  ref() {
    this._refWanted = true;
    if (this._attached && !this._idle) this._nativeRef();
    return this;
  }

  /** The socket no longer keeps the process alive. */
  unref() {
    this._refWanted = false;
    if (this._attached) this._nativeUnref();
    return this;
  }

  /** The first attempt starts: from now on the socket holds the process, unless unref()'d. */
  _leaveIdle() {
    if (!this._idle) return;
    this._idle = false;
    if (this._refWanted) this._nativeRef();
  }

  /** Counters of the connection's life (see binding.d.ts SocketStats). */
  stats() {
    const s = this._attached ? this._nativeStats() : { ...this._closing.stats };
    s.state = this._state;
    return s;
  }

  /**
   * Messages as an async iterator; ends when the socket closes.
   * @returns {AsyncIterableIterator<string|Buffer>}
   */
  [Symbol.asyncIterator]() {
    const queue = [];
    const waiting = [];
    let done = this._closing !== null && this._closing.final !== null;
    const onMessage = (data) => {
      if (waiting.length) waiting.shift().resolve({ value: data, done: false });
      else queue.push(data);
    };
    const onClose = () => {
      done = true;
      cleanup();
      while (waiting.length) waiting.shift().resolve({ value: undefined, done: true });
    };
    const cleanup = () => {
      this.off('message', onMessage);
      this.off('close', onClose);
    };
    this.on('message', onMessage);
    this.on('close', onClose);
    return {
      next: () => {
        if (queue.length) return Promise.resolve({ value: queue.shift(), done: false });
        if (done) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
      },
      return: () => {
        done = true;
        cleanup();
        queue.length = 0;
        while (waiting.length) waiting.shift().resolve({ value: undefined, done: true });
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  /**
   * Dispatches one batch from the io thread. A listener that throws does not lose the rest of
   * the batch: the first exception is rethrown afterwards, as an uncaught exception.
   * @param {Array} batch flat event array (lib/event-codes.js)
   * @param {Uint32Array} [lengths] the message lengths of the batch's runs, in order
   */
  _onEvents(batch, lengths) {
    let thrown = null;
    let next = 0; // the next run's first entry in lengths
    for (let i = 0; i < batch.length; ) {
      const kind = batch[i];
      const at = i + 1;
      i = at + FIELDS[kind];
      if (kind === KIND.TEXT_RUN || kind === KIND.BINARY_RUN) {
        // One value for a run of messages, cut by their lengths: each message gets its own try,
        // so a listener that throws does not lose the rest of the run either.
        const whole = batch[at];
        const end = next + batch[at + 1];
        if (kind === KIND.TEXT_RUN) {
          let start = 0;
          for (; next < end; next++) {
            const stop = start + lengths[next];
            try {
              this.emit('message', whole.slice(start, stop), PLAIN_INFO);
            } catch (err) {
              if (thrown === null) thrown = err;
            }
            start = stop;
          }
          continue;
        }
        const bytes = whole.buffer;
        let offset = whole.byteOffset;
        for (; next < end; next++) {
          const length = lengths[next];
          try {
            this.emit('message', new FastBuffer(bytes, offset, length), PLAIN_INFO);
          } catch (err) {
            if (thrown === null) thrown = err;
          }
          offset += length;
        }
        continue;
      }
      try {
        if (kind === KIND.MESSAGE) {
          this.emit('message', batch[at], PLAIN_INFO);
        } else if (kind === KIND.MESSAGE_WITH_ID) {
          this._lastEventId = batch[at + 1];
          this.emit('message', batch[at], { id: batch[at + 1], replayed: batch[at + 2] });
        } else {
          this._onControlEvent(kind, batch, at);
        }
      } catch (err) {
        if (thrown === null) thrown = err;
      }
    }
    if (this._sends !== null && this._sends.outboxChanged) this._publishOutboxSize();
    if (thrown !== null) {
      process.nextTick(() => {
        throw thrown;
      });
    }
  }

  _onControlEvent(kind, b, at) {
    switch (kind) {
      case KIND.STATE: {
        const state = STATE_NAMES.get(b[at]) ?? b[at];
        if (state === this._state) return;
        const previous = this._state;
        this._state = state;
        this._writeHere = state === 'open';
        const payload = { state, previous };
        if (b[at + 2] !== undefined) payload.reason = b[at + 2];
        this._announce('state', payload);
        return;
      }
      case KIND.CONNECTING:
        // The same URL again (every attempt to a single URL) keeps the string this socket holds.
        if (b[at + 1] !== this._url) this._url = b[at + 1];
        this._announce('connecting', { attempt: b[at], url: this._url });
        return;
      case KIND.OPEN: {
        const payload = { attempt: b[at], url: b[at + 1] === this._url ? this._url : b[at + 1], protocol: b[at + 2], reconnected: b[at + 3] };
        if (b[at + 4] !== undefined) payload.resumedFrom = b[at + 4];
        this._announce('open', payload);
        return;
      }
      case KIND.DISCONNECT: {
        const payload = { code: b[at], reason: b[at + 1], wasClean: b[at + 2], willReconnect: b[at + 3] };
        if (b[at + 4]) payload.error = fromNative(b[at + 4]);
        this._announce('disconnect', payload);
        return;
      }
      case KIND.RECONNECTING: {
        const payload = { attempt: b[at], delay: b[at + 1], reason: b[at + 2] };
        const error = b[at + 3];
        if (error) {
          if (error.status !== undefined) payload.status = error.status;
          if (error.retryAfter !== undefined) payload.retryAfter = error.retryAfter;
          payload.error = fromNative(error);
        }
        this._announce('reconnecting', payload);
        return;
      }
      case KIND.HEARTBEAT:
        if (this._heartbeatListened && this._attached && this.listenerCount('heartbeat') === 0) {
          this._heartbeatListened = false;
          this._nativeHeartbeatEvents(false);
        }
        this._announce('heartbeat', { rtt: b[at] });
        return;
      case KIND.ACK:
        this._noteOutboxChanged();
        this._announce('ack', { key: b[at] });
        return;
      case KIND.DRAIN:
        this._noteOutboxChanged();
        this.emit('drain', {});
        return;
      case KIND.FAILED:
        this._announce('failed', { error: fromNative(b[at]) });
        return;
      case KIND.ERROR: {
        const error = fromNative(b[at]);
        // 'error' without a listener would crash the process; a network library must not.
        if (this.listenerCount('error') > 0) this.emit('error', error);
        else process.emitWarning(error.message, { type: 'ResilientSocketWarning', code: error.code });
        return;
      }
      case KIND.SENT:
        if (b[at + 3] === HANDED_TO_KERNEL) {
          this._handedToKernel(b[at], b[at + 1]);
          return;
        }
        this._noteOutboxChanged();
        this._settleSent(b[at], b[at + 1], b[at + 2], RECEIPT_STATUS[b[at + 3]], b[at + 4]);
        return;
      case KIND.SEND_FAILED: {
        this._noteOutboxChanged();
        if (this._sends !== null) this._buffered -= this._sends.pending.fail(b[at], fromNative(b[at + 1]));
        return;
      }
      case KIND.DUPLICATES:
        this._duplicatesSeen += b[at];
        diagnostics.publish('dedupe', this, { dropped: b[at], total: this._duplicatesSeen });
        return;
      case KIND.RESUME_RESET:
        diagnostics.publish('resumeReset', this, { lastEventId: b[at] || undefined });
        return;
      case KIND.RESUME_INFO:
        this._lastEventId = b[at];
        return;
      case KIND.CLOSE:
        this._onFinalClose(b[at], b[at + 1]);
        return;
      default:
        return;
    }
  }

  /** File outbox or 'acked': these requests' bytes reached the kernel; their receipts come later. */
  _handedToKernel(firstRequest, count) {
    const sends = this._sends;
    if (sends === null) return;
    const last = firstRequest + count - 1;
    if (sends.persistedUnwritten !== null) this._buffered -= sends.persistedUnwritten.takeUpTo(last);
    // Sends whose receipt comes later ('acked'); a file outbox's have settled already.
    this._buffered -= sends.pending.takeBytes(firstRequest, last);
  }

  _settleSent(firstRequest, count, firstSeq, status, keyPrefix) {
    const sends = this._sends;
    if (sends === null) return;
    const keyPads = sends.keyPadsFor(keyPrefix);
    sends.pending.settleRange(firstRequest, firstRequest + count - 1, (request, resolve, key, bytes) => {
      // 'written' is reported when the write that holds the message's last byte completed,
      // i.e. the kernel has it: it leaves bufferedAmount now. 'persisted' (file outbox) comes
      // before the write: it stays counted until _handedToKernel. 'acked' comes after it.
      if (status === 'persisted' && bytes > 0) (sends.persistedUnwritten ??= new PersistedUnwritten()).push(request, bytes);
      else this._buffered -= bytes;
      const seq = firstSeq + (request - firstRequest);
      resolve({ key: key !== undefined ? key : generatedKey(keyPads, seq), seq, status });
    });
  }

  _onFinalClose(code, reason) {
    this._closeCalled = true;
    const closing = this._closingRecord();
    closing.final = { code, reason };
    const sends = this._sends;
    this._sends = null;
    this._buffered = 0;
    closing.stats = this._nativeStats();
    this._attached = false;
    for (const reject of sends?.pending.takeRejects() ?? []) {
      reject(new ResilientSocketError('ERR_CLOSED', 'the socket closed before this message was delivered'));
    }
    // Hold nothing: the io thread stops with the last socket, the process may exit.
    this._nativeDispose();
    if (closing.resolve !== null) closing.resolve();
    this._announce('close', { code, reason });
  }
}

// The binding's per-socket functions, called with the socket as `this` (the binding wraps the
// socket object itself). Not enumerable, like the class's own methods.
const nativeMethod = (fn) => ({ value: fn, writable: true, configurable: true });
const { socketMethods } = native;
Object.defineProperties(ResilientSocket.prototype, {
  _nativeSend: nativeMethod(socketMethods.send),
  _nativeStage: nativeMethod(socketMethods.stage),
  _nativeWriteNow: nativeMethod(socketMethods.writeNow),
  _nativeClose: nativeMethod(socketMethods.close),
  _nativeReconnect: nativeMethod(socketMethods.reconnect),
  _nativeConnect: nativeMethod(socketMethods.connect),
  _nativeRef: nativeMethod(socketMethods.ref),
  _nativeUnref: nativeMethod(socketMethods.unref),
  _nativeStats: nativeMethod(socketMethods.stats),
  _nativeDispose: nativeMethod(socketMethods.dispose),
  _nativeSimulateSuspend: nativeMethod(socketMethods.simulateSuspend),
  _nativeHeartbeatEvents: nativeMethod(socketMethods.heartbeatEvents),
  _nativeKeyPrefix: nativeMethod(socketMethods.keyPrefix),
});

for (const [name, bit] of Object.entries(FLAGS)) {
  Object.defineProperty(ResilientSocket.prototype, name, {
    get() {
      return (this._flags & bit) !== 0;
    },
    set(on) {
      this._flags = on ? this._flags | bit : this._flags & ~bit;
    },
    configurable: true,
  });
}

module.exports = { ResilientSocket };
