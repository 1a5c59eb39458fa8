'use strict';

// Counters of the server companion. Plain numbers, bumped inline on the hot paths; `snapshot()`
// copies them so a caller can diff two snapshots without seeing later changes.

/** Counter names in the order `snapshot()` lists them (documented in server.d.ts). */
const COUNTERS = [
  'connections', // open right now
  'connectionsTotal', // accepted since start
  'disconnects', // connections that ended
  'published', // events this node published
  'delivered', // event messages sent (live and replayed)
  'replays', // connections that resumed from a position and got a replay (possibly empty)
  'replayedEvents', // events sent by those replays
  'resets', // reset messages sent (position too old, or unknown)
  'syncMessages', // resume positions that arrived as a sync message
  'lateSyncs', // sync messages ignored because the connection was already live
  'acks', // acks sent for messages the handler processed
  'duplicates', // messages whose key was already processed: acked again, handler not called
  'keyWaits', // messages whose key was claimed by another connection or node: waited for it
  'handlerErrors', // handler threw/rejected: not acked, the client re-sends after a reconnect
  'badMessages', // inbound messages that could not be used (bad JSON, oversize key, …)
  'livenessTerminations', // clients that missed a pong and were terminated
  'slowConsumerTerminations', // clients whose send buffer passed maxBufferedBytes
  'storeErrors', // store failures (Redis down, …) reported as `store-error`
];

class ServerStats {
  constructor() {
    for (const name of COUNTERS) this[name] = 0;
    /** @type {Record<string, number>} close code → count */
    this.disconnectsByCode = {};
  }

  /** @param {number} code the close code the connection ended with (1006: no close frame) */
  disconnect(code) {
    this.disconnects += 1;
    this.connections -= 1;
    const k = String(code);
    this.disconnectsByCode[k] = (this.disconnectsByCode[k] || 0) + 1;
  }

  /** @returns {object} a copy of every counter */
  snapshot() {
    const out = {};
    for (const name of COUNTERS) out[name] = this[name];
    out.disconnectsByCode = { ...this.disconnectsByCode };
    return out;
  }
}

module.exports = { ServerStats, COUNTERS };
