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
    /** @type {Map<number, number> | null} file outbox: request → bytes, persisted but not yet written */
    this.persistedUnwritten = null;
    this.keyPrefix = undefined; // generated keys' prefix, asked for by the first direct send
    this.drainCheckQueued = false; // a direct write queued the check for its tick's 'drain'
    this.outboxChanged = false; // this batch changed the outbox: publish its size once at its end
  }
}

module.exports = { SendState };
