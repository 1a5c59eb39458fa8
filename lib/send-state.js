'use strict';

/**
 * What a socket keeps for its sends, made by its first send(): an idle socket in a fleet of
 * thousands carries one field for all of it instead of eight, and none of the Maps.
 */
class SendState {
  constructor() {
    this.nextRequest = 1;
    this.batch = null; // send() calls of the current tick, flushed in one native call
    this.flush = null; // the microtask that flushes them, made once
    /** @type {Map<number, {resolve: Function, reject: Function, key: string|undefined, bytes: number}>} */
    this.pending = new Map();
    /** @type {PersistedUnwritten | null} file outbox: sends persisted, not yet handed to the kernel */
    this.persistedUnwritten = null;
    this.keyPrefix = undefined; // generated keys' prefix, asked for by the first direct send
    this.drainCheckQueued = false; // a direct write queued the check for its tick's 'drain'
    this.outboxChanged = false; // this batch changed the outbox: publish its size once at its end
  }
}

/**
 * File outbox: the bytes of sends whose receipt said 'persisted' and that have not reached the
 * kernel yet (bufferedAmount counts them until then). Both reports come in request order — a
 * group commit never covers a send before an earlier one, and nothing unsynced goes on the
 * wire — so two arrays used as a queue do what a Map keyed by request did, without a Map entry
 * per send: in a stream of durable sends, that Map's set/get/delete and its growth were a
 * tenth of the JavaScript thread's time (--cpu-prof).
 */
class PersistedUnwritten {
  constructor() {
    this.requests = [];
    this.bytes = [];
    this.head = 0; // requests[head] is the oldest still queued
  }

  push(request, bytes) {
    this.requests.push(request);
    this.bytes.push(bytes);
  }

  /**
   * Takes every queued send up to request `last` and returns their bytes. One below the range
   * the kernel just got will never reach it (the outbox evicted it: onFull 'drop-oldest'), so
   * it leaves bufferedAmount too.
   */
  takeUpTo(last) {
    const { requests, bytes } = this;
    let head = this.head;
    let total = 0;
    while (head < requests.length && requests[head] <= last) total += bytes[head++];
    if (head === requests.length) {
      requests.length = 0;
      bytes.length = 0;
      head = 0;
    } else if (head >= 4096 && head * 2 >= requests.length) {
      requests.splice(0, head); // amortized: at most once per 4,096 and half the queue
      bytes.splice(0, head);
      head = 0;
    }
    this.head = head;
    return total;
  }
}

module.exports = { SendState, PersistedUnwritten };
