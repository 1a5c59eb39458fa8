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
    this.pending = new PendingReceipts();
    /** @type {PersistedUnwritten | null} file outbox: sends persisted, not yet handed to the kernel */
    this.persistedUnwritten = null;
    this.keyPrefix = undefined; // generated keys' prefix, asked for by the first direct send
    this.keyPadsPrefix = undefined; // the prefix keyPads were made for
    this.keyPads = null; // see keyPadsFor
    this.drainCheckQueued = false; // a direct write queued the check for its tick's 'drain'
    this.outboxChanged = false; // this batch changed the outbox: publish its size once at its end
  }

  /** For generatedKey: the prefix, '-' and 0 to 11 zeros, made once per prefix (one per outbox). */
  keyPadsFor(keyPrefix) {
    if (this.keyPadsPrefix !== keyPrefix) {
      this.keyPadsPrefix = keyPrefix;
      this.keyPads = Array.from({ length: 12 }, (_, zeros) => `${keyPrefix}-${'0'.repeat(zeros)}`);
    }
    return this.keyPads;
  }
}

/**
 * A generated idempotency key, as outbox::make_key (native/outbox/outbox.cpp) makes it: the
 * prefix, '-', the seq in at least 12 hex digits. One number-to-hex and one concatenation per
 * key: a template string with padStart made four strings, a third of what a stream of sends
 * allocated per receipt (sampling heap profile).
 */
function generatedKey(keyPads, seq) {
  const hex = seq.toString(16);
  return hex.length >= 12 ? keyPads[0] + hex : keyPads[12 - hex.length] + hex;
}

/**
 * The receipts of sends not settled yet, in request order. A send's five slots sit side by side
 * in one array (request, resolve, reject, key, bytes) instead of a record and a Map entry per
 * send: in a stream of sends both lived until the receipt, so young collections copied them, and
 * the Map's growing and shrinking allocated more again (sampling heap profile). The array is
 * reused once empty (`end` is its used part), so a steady stream allocates nothing here.
 * Receipts mostly come in request order ('written', 'persisted'): the oldest is found first.
 * 'acked' and failed sends settle in any order, found by binary search, and leave holes that a
 * later add() packs away once they are most of the array.
 */
const STRIDE = 5;
const RESOLVE = 1;
const REJECT = 2;
const KEY = 3;
const BYTES = 4;
// An emptied array longer than this is let go rather than kept for reuse (~3,300 sends, 128 KiB).
const KEEP_SLOTS = 16384;

class PendingReceipts {
  constructor() {
    this.slots = [];
    this.head = 0; // slots[head] is the oldest pending request, or head === end
    this.end = 0; // slots from here on are unused
    this.size = 0; // pending receipts
  }

  add(request, resolve, reject, key, bytes) {
    // Packed once settled groups (before head, or holes) are most of at least 4,096: amortized,
    // a pack moves no more groups than were settled since the last one.
    const settled = this.end / STRIDE - this.size;
    if (settled >= 4096 && settled * 2 >= this.end / STRIDE) this._pack();
    const { slots, end } = this;
    if (end === slots.length) {
      slots.push(request, resolve, reject, key, bytes);
    } else {
      slots[end] = request;
      slots[end + RESOLVE] = resolve;
      slots[end + REJECT] = reject;
      slots[end + KEY] = key;
      slots[end + BYTES] = bytes;
    }
    this.end = end + STRIDE;
    this.size++;
  }

  /** The oldest pending request, or Infinity when none is. */
  oldest() {
    return this.size === 0 ? Infinity : this.slots[this.head];
  }

  /** Index of the first slot group at or after `request` (end when none is). */
  lowerBound(request) {
    const { slots, head, end } = this;
    if (head === end || slots[head] >= request) return head;
    let lo = head / STRIDE + 1;
    let hi = end / STRIDE;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (slots[mid * STRIDE] < request) lo = mid + 1;
      else hi = mid;
    }
    return lo * STRIDE;
  }

  /** Index of `request`'s slots, or -1 when it is not pending. */
  find(request) {
    const at = this.lowerBound(request);
    return at < this.end && this.slots[at] === request && this.slots[at + RESOLVE] !== undefined ? at : -1;
  }

  /** Ends the receipt at `at` (from find or lowerBound): read what it holds first. */
  remove(at) {
    const { slots } = this;
    slots[at + RESOLVE] = undefined;
    slots[at + REJECT] = undefined;
    slots[at + KEY] = undefined;
    this.size--;
    if (at !== this.head) return;
    let head = at + STRIDE;
    while (head < this.end && slots[head + RESOLVE] === undefined) head += STRIDE;
    if (head === this.end) {
      head = 0;
      this.end = 0;
      if (slots.length > KEEP_SLOTS) this.slots = [];
    }
    this.head = head;
  }

  /**
   * Calls settle(request, resolve, key, bytes) for each pending request from `first` to `last`,
   * oldest first, and ends its receipt.
   */
  settleRange(first, last, settle) {
    const { slots } = this;
    for (let at = this.lowerBound(first); at < this.end && slots[at] <= last; at += STRIDE) {
      const resolve = slots[at + RESOLVE];
      if (resolve === undefined) continue;
      const request = slots[at];
      const key = slots[at + KEY];
      const bytes = slots[at + BYTES];
      this.remove(at); // the last one empties the queue (end = 0), which ends the loop
      settle(request, resolve, key, bytes);
    }
  }

  /** Rejects `request`'s receipt with `error`; returns its bytes (0 when it was not pending). */
  fail(request, error) {
    const at = this.find(request);
    if (at < 0) return 0;
    const reject = this.slots[at + REJECT];
    const bytes = this.slots[at + BYTES];
    this.remove(at);
    reject(error);
    return bytes;
  }

  /**
   * The bytes of the pending requests from `first` to `last` have reached the kernel: returns
   * their sum, and counts them as 0 from now on, whatever settles them later.
   */
  takeBytes(first, last) {
    if (this.oldest() > last) return 0;
    const { slots } = this;
    let total = 0;
    for (let at = this.lowerBound(first); at < this.end && slots[at] <= last; at += STRIDE) {
      if (slots[at + RESOLVE] === undefined) continue;
      total += slots[at + BYTES];
      slots[at + BYTES] = 0;
    }
    return total;
  }

  /** Every pending receipt's reject function, oldest first, and no receipt pending after. */
  takeRejects() {
    const rejects = [];
    for (let at = this.head; at < this.end; at += STRIDE) {
      if (this.slots[at + RESOLVE] !== undefined) rejects.push(this.slots[at + REJECT]);
    }
    this.slots = [];
    this.head = 0;
    this.end = 0;
    this.size = 0;
    return rejects;
  }

  /** Moves the pending groups to the front, over the settled ones (before head, and holes). */
  _pack() {
    const { slots, end } = this;
    let to = 0;
    for (let at = this.head; at < end; at += STRIDE) {
      if (slots[at + RESOLVE] === undefined) continue;
      if (to !== at) for (let k = 0; k < STRIDE; k++) slots[to + k] = slots[at + k];
      to += STRIDE;
    }
    for (let at = to; at < end; at++) slots[at] = undefined; // let go of what moved
    this.head = 0;
    this.end = to;
  }
}

/**
 * File outbox: the bytes of sends whose receipt said 'persisted' and that have not reached the
 * kernel yet (bufferedAmount counts them until then). Both reports come in request order — a
 * group commit never covers a send before an earlier one, and nothing unsynced goes on the
 * wire — so an array used as a queue (request, bytes, request, bytes…) does what a Map keyed by
 * request did, without a Map entry per send: in a stream of durable sends, that Map's
 * set/get/delete and its growth were a tenth of the JavaScript thread's time (--cpu-prof). As
 * with PendingReceipts, the array is reused once empty.
 */
class PersistedUnwritten {
  constructor() {
    this.slots = [];
    this.head = 0; // slots[head] is the oldest request still queued, or head === end
    this.end = 0; // slots from here on are unused
  }

  push(request, bytes) {
    const { slots, end } = this;
    if (end === slots.length) {
      slots.push(request, bytes);
    } else {
      slots[end] = request;
      slots[end + 1] = bytes;
    }
    this.end = end + 2;
  }

  /**
   * Takes every queued send up to request `last` and returns their bytes. One below the range
   * the kernel just got will never reach it (the outbox evicted it: onFull 'drop-oldest'), so
   * it leaves bufferedAmount too.
   */
  takeUpTo(last) {
    const { slots, end } = this;
    let head = this.head;
    let total = 0;
    for (; head < end && slots[head] <= last; head += 2) total += slots[head + 1];
    if (head === end) {
      head = 0;
      this.end = 0;
      if (slots.length > KEEP_SLOTS) this.slots = [];
    } else if (head >= 8192 && head * 2 >= end) {
      slots.copyWithin(0, head, end); // amortized: at most once per 4,096 sends and half the queue
      this.end = end - head;
      head = 0;
    }
    this.head = head;
    return total;
  }
}

module.exports = { SendState, PendingReceipts, PersistedUnwritten, generatedKey };
