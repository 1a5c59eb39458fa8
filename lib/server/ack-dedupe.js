'use strict';

// Inbound messages with an idempotency key: the application's handler runs once per key, and the
// client gets the ack it waits for (outbox.guarantee 'acked'), for the first delivery and for
// every re-send.
//
// Order of steps, and why (what a crash at each point leaves behind):
//   1. claim the key in the store (SET NX with a lease). Another node or connection holding it
//      is waited for, so two handlers never run concurrently for one key.
//   2. run the handler. Crash here: nothing marked, no ack; the lease runs out and the client's
//      re-send (after its reconnect) runs the handler again — the handler never completed, so
//      this is still once.
//   3. mark the key done (kept `keyTtl`). Crash between 2 and 3: the handler completed but the
//      mark is missing, so the re-send runs it again. This window is one store round trip; a
//      handler whose effect is keyed (an upsert by key) closes it.
//   4. send the ack, only now: an acked message is always marked, so a re-send of an acked key
//      (the ack was lost) is answered from the mark without running the handler.
// A handler that throws releases the claim and sends no ack: the client keeps the message and
// re-sends it after its next reconnect.

const POLL_MIN_MS = 20;
const POLL_MAX_MS = 250;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class AckDedupe {
  /**
   * @param {object} o
   * @param {object} o.store EventStore
   * @param {number} o.keyTtl ms a processed key is remembered
   * @param {number} o.keyLease ms a claim holds without completion
   * @param {Function|null} o.onMessage the application's handler
   * @param {Array<[string[], unknown]>} o.ackMatch fields of the ack message
   * @param {string[]} o.ackKeyPath where the key goes in the ack
   * @param {import('./server-stats').ServerStats} o.stats
   * @param {(name: string, ...args: unknown[]) => void} o.emit reports `handler-error`/`store-error`
   */
  constructor(o) {
    Object.assign(this, o);
  }

  /**
   * The ack for `key`, e.g. `{"type":"ack","key":"k1"}`: the `ack.match` fields plus the key at
   * `ack.keyField`, so it matches the client's outbox.ack settings.
   *
   * @param {string} key
   * @returns {string}
   */
  ackText(key) {
    const msg = {};
    for (const [path, value] of this.ackMatch) setPath(msg, path, value);
    setPath(msg, this.ackKeyPath, key);
    return JSON.stringify(msg);
  }

  /**
   * Processes one keyed message; resolves when it has been handled (or given up on).
   *
   * @param {unknown} message parsed JSON
   * @param {string} key
   * @param {object} ctx handler context (also `ctx.open()` → is the connection still open)
   * @param {(text: string) => void} sendAck
   */
  async process(message, key, ctx, sendAck) {
    let state;
    try {
      state = await this.claim(key, ctx);
    } catch (err) {
      this.storeFailed(err, 'claim');
      return;
    }
    if (state === 'busy') return; // still held elsewhere after a whole lease: no ack, re-sent later
    if (state === 'done') {
      this.stats.duplicates += 1;
      sendAck(this.ackText(key));
      return;
    }
    try {
      if (this.onMessage) await this.onMessage(message, ctx);
    } catch (err) {
      this.stats.handlerErrors += 1;
      this.store.releaseKey(key).catch((e) => this.storeFailed(e, 'release'));
      this.emit('handler-error', err, { key, stream: ctx.stream });
      return;
    }
    if (!(await this.complete(key))) return;
    this.stats.acks += 1;
    sendAck(this.ackText(key));
  }

  /** Claims `key`, waiting (bounded by one lease) while someone else holds it. */
  async claim(key, ctx) {
    let state = await this.store.claimKey(key, this.keyLease);
    if (state === 'busy') this.stats.keyWaits += 1;
    const deadline = Date.now() + this.keyLease + POLL_MAX_MS;
    let wait = POLL_MIN_MS;
    while (state === 'busy' && Date.now() < deadline && ctx.open()) {
      await sleep(wait);
      wait = Math.min(POLL_MAX_MS, wait * 2);
      state = await this.store.claimKey(key, this.keyLease);
    }
    return state;
  }

  /**
   * Marks `key` done, retrying through a short store outage (within one lease, after which the
   * claim would expire and a re-send could run the handler again).
   *
   * @returns {Promise<boolean>} false: not marked, so not acked
   */
  async complete(key) {
    const deadline = Date.now() + this.keyLease;
    let wait = POLL_MIN_MS;
    for (;;) {
      try {
        await this.store.completeKey(key, this.keyTtl);
        return true;
      } catch (err) {
        this.storeFailed(err, 'complete');
        if (Date.now() + wait >= deadline) return false;
        await sleep(wait);
        wait = Math.min(POLL_MAX_MS * 4, wait * 2);
      }
    }
  }

  storeFailed(err, step) {
    this.stats.storeErrors += 1;
    this.emit('store-error', err, { step });
  }
}

/** Sets `obj[path[0]][path[1]]… = value`, creating objects on the way. */
function setPath(obj, path, value) {
  let o = obj;
  for (let i = 0; i < path.length - 1; i++) {
    if (o[path[i]] === null || typeof o[path[i]] !== 'object') o[path[i]] = {};
    o = o[path[i]];
  }
  o[path[path.length - 1]] = value;
}

module.exports = { AckDedupe, setPath };
