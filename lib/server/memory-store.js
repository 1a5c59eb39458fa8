'use strict';

// The default store: recent events per stream and processed idempotency keys, in this process's
// memory. Bounded by count, bytes and age, so a busy stream cannot grow the heap without limit.
// One process only: for several nodes use the Redis store.
//
// The store interface (shared with redis-store.js, typed in server.d.ts as EventStore):
//   append(stream, data)        → Promise<id>          assign the next id, keep, fan out
//   read(stream, after, limit)  → Promise<{ events, oldest, latest }>
//   subscribe(stream, listener) → Promise<unsubscribe> every event appended afterwards, in id order
//   claimKey(key, leaseMs)      → Promise<'claimed'|'busy'|'done'>
//   completeKey(key, ttlMs), releaseKey(key), close()
// Events are `{ id: number, data: string }` where `data` is the JSON text of the payload.

const { EventEmitter } = require('events');
const { checkStoreOptions } = require('./server-options');

/** @returns {number} a first id that a restarted process will not have used before */
function clockFirstId() {
  // Microseconds since the epoch: ids of a new process start above those of any earlier one
  // unless that one published more than a million events per second on average. A client's
  // dedupe window (ids as strings) then never mistakes a new event for one it already has.
  return Date.now() * 1000;
}

class MemoryStore extends EventEmitter {
  /**
   * @param {object} [options] see server.d.ts MemoryStoreOptions
   */
  constructor(options) {
    super();
    const o = checkStoreOptions(options, 'MemoryStore', {
      maxEvents: 10000, maxBytes: 64 * 1024 * 1024, maxAge: 3600000, maxKeys: 100000,
    });
    this.maxEvents = o.maxEvents;
    this.maxBytes = o.maxBytes;
    this.maxAge = o.maxAge;
    this.maxKeys = o.maxKeys;
    this.firstId = o.firstId === 'clock' ? null : o.firstId;
    /** @type {Map<string, StreamState>} */
    this.streams = new Map();
    /** @type {Map<string, {done: boolean, expires: number}>} insertion order = age order */
    this.keys = new Map();
    this.closed = false;
  }

  /** @returns {StreamState} */
  stream(name) {
    let s = this.streams.get(name);
    if (!s) {
      s = new StreamState(this.firstId === null ? clockFirstId() : this.firstId);
      this.streams.set(name, s);
    }
    return s;
  }

  /**
   * Assigns the next id of `stream`, keeps the event and hands it to every subscriber before
   * resolving (synchronously: a subscriber never sees ids out of order).
   *
   * @param {string} stream
   * @param {string} data JSON text of the payload
   * @returns {Promise<number>} the id
   */
  async append(stream, data) {
    if (this.closed) throw closedError();
    const s = this.stream(stream);
    const event = { id: s.nextId, data, at: Date.now(), bytes: data.length + 64 };
    s.nextId += 1;
    s.push(event);
    s.trim(this.maxEvents, this.maxBytes, this.maxAge, event.at);
    for (const listener of s.listeners) listener(event);
    return event.id;
  }

  /**
   * Events with id > `after`, oldest first, at most `limit`; plus the oldest retained id (null if
   * nothing is retained) and the newest assigned id (0 if none yet).
   *
   * @param {string} stream
   * @param {number} after
   * @param {number} limit
   */
  async read(stream, after, limit) {
    if (this.closed) throw closedError();
    const s = this.stream(stream);
    s.trim(this.maxEvents, this.maxBytes, this.maxAge, Date.now());
    return { events: s.after(after, limit), oldest: s.oldest(), latest: s.nextId - 1 };
  }

  /**
   * @param {string} stream
   * @param {(event: {id: number, data: string}) => void} listener
   * @returns {Promise<() => void>} unsubscribe
   */
  async subscribe(stream, listener) {
    if (this.closed) throw closedError();
    const s = this.stream(stream);
    s.listeners.add(listener);
    return () => s.listeners.delete(listener);
  }

  /**
   * Claims an idempotency key for processing.
   *
   * @param {string} key
   * @param {number} leaseMs how long the claim holds if the holder never completes or releases it
   * @returns {Promise<'claimed'|'busy'|'done'>}
   */
  async claimKey(key, leaseMs) {
    const now = Date.now();
    const entry = this.keys.get(key);
    if (entry && entry.expires > now) return entry.done ? 'done' : 'busy';
    this.setKey(key, false, now + leaseMs);
    return 'claimed';
  }

  /** Marks `key` processed for `ttlMs`. */
  async completeKey(key, ttlMs) {
    this.setKey(key, true, Date.now() + ttlMs);
  }

  /** Drops a claim whose processing failed, so a re-send is processed. */
  async releaseKey(key) {
    const entry = this.keys.get(key);
    if (entry && !entry.done) this.keys.delete(key);
  }

  setKey(key, done, expires) {
    this.keys.delete(key); // re-insert: the Map's order stays the order of last change
    this.keys.set(key, { done, expires });
    // Bounded: the oldest entries go first; expired ones are found there too.
    while (this.keys.size > this.maxKeys) this.keys.delete(this.keys.keys().next().value);
  }

  /** Forgets everything; later calls reject. Idempotent. */
  async close() {
    this.closed = true;
    for (const s of this.streams.values()) s.listeners.clear();
    this.streams.clear();
    this.keys.clear();
  }
}

/** One stream's retained events: a sliding window over an array, ids contiguous. */
class StreamState {
  constructor(firstId) {
    this.nextId = firstId;
    /** @type {Array<{id: number, data: string, at: number, bytes: number}>} */
    this.events = [];
    this.start = 0; // index of the oldest retained event (avoids an O(n) shift per trim)
    this.bytes = 0;
    /** @type {Set<Function>} */
    this.listeners = new Set();
  }

  push(event) {
    this.events.push(event);
    this.bytes += event.bytes;
  }

  get size() { return this.events.length - this.start; }

  /** Drops the oldest events until every bound holds. */
  trim(maxEvents, maxBytes, maxAge, now) {
    const cutoff = maxAge > 0 ? now - maxAge : -Infinity;
    while (this.size > 0) {
      const oldest = this.events[this.start];
      if (this.size <= maxEvents && this.bytes <= maxBytes && oldest.at >= cutoff) break;
      this.bytes -= oldest.bytes;
      this.events[this.start] = undefined;
      this.start += 1;
    }
    if (this.start > 1024 && this.start * 2 > this.events.length) {
      this.events = this.events.slice(this.start);
      this.start = 0;
    }
  }

  oldest() { return this.size > 0 ? this.events[this.start].id : null; }

  after(after, limit) {
    if (this.size === 0) return [];
    // Ids are contiguous, so the position is arithmetic, not a search.
    const first = this.events[this.start].id;
    const from = this.start + Math.max(0, after + 1 - first);
    return this.events.slice(from, from + limit);
  }
}

function closedError() {
  const err = new Error('The store is closed');
  err.code = 'ERR_STORE_CLOSED';
  return err;
}

module.exports = { MemoryStore, clockFirstId };
