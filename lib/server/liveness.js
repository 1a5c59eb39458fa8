'use strict';

// Server-side liveness: a client that has been silent for `interval` ms gets a ping; one that then
// stays silent for `timeout` ms more is terminated (no close handshake: the peer is presumed dead,
// and a close frame would only sit in a full buffer). Any inbound frame counts as a sign of life,
// so busy clients are never pinged. One sweep timer serves every connection.

class Liveness {
  /**
   * @param {{ interval: number, timeout: number }} options milliseconds
   * @param {(ws: import('ws').WebSocket) => void} onDead called once per terminated client
   */
  constructor(options, onDead) {
    this.interval = options.interval;
    this.timeout = options.timeout;
    this.onDead = onDead;
    /** @type {Map<import('ws').WebSocket, {lastSeen: number, pingedAt: number}>} */
    this.clients = new Map();
    // Half the shorter period: a dead client is noticed at most that late.
    this.sweepMs = Math.max(5, Math.floor(Math.min(this.interval, this.timeout) / 2));
    this.timer = null;
  }

  /** Starts watching `ws` (until it closes). */
  add(ws) {
    const entry = { lastSeen: Date.now(), pingedAt: 0 };
    this.clients.set(ws, entry);
    const alive = () => {
      entry.lastSeen = Date.now();
      entry.pingedAt = 0;
    };
    ws.on('pong', alive);
    ws.on('ping', alive);
    ws.on('message', alive);
    ws.once('close', () => this.clients.delete(ws));
    if (!this.timer) {
      this.timer = setInterval(() => this.sweep(), this.sweepMs);
      this.timer.unref(); // liveness must never keep a finished process alive
    }
  }

  /** One pass: ping the idle, terminate the unanswered. */
  sweep() {
    const now = Date.now();
    for (const [ws, entry] of this.clients) {
      if (ws.readyState !== 1) continue;
      if (entry.pingedAt !== 0) {
        if (now - entry.pingedAt >= this.timeout) {
          this.clients.delete(ws);
          this.onDead(ws);
          ws.terminate();
        }
      } else if (now - entry.lastSeen >= this.interval) {
        entry.pingedAt = now;
        try { ws.ping(); } catch { /* closing meanwhile: the close event cleans up */ }
      }
    }
    if (this.clients.size === 0) this.stop();
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
  }
}

module.exports = { Liveness };
