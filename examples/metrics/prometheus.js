'use strict';

// resilient-ws lifecycle events as Prometheus metrics, with prom-client (npm install prom-client).
// Subscribes to the library's diagnostics channels, so it needs no reference to any socket and
// sees every socket of the process:
//
//   const client = require('prom-client');
//   const stop = exportResilientWsMetrics(client, { register: client.register });
//   // ... serve `await client.register.metrics()` on /metrics
//
// Returns a function that unsubscribes.

const dc = require('diagnostics_channel');

/**
 * @param {typeof import('prom-client')} client
 * @param {{register?: import('prom-client').Registry, prefix?: string}} [options]
 * @returns {() => void} unsubscribe
 */
function exportResilientWsMetrics(client, { register = client.register, prefix = 'resilient_ws_' } = {}) {
  const registers = [register];
  const connects = new client.Counter({ name: `${prefix}connects_total`, help: 'Connections opened (reconnects included)', labelNames: ['reconnected'], registers });
  const disconnects = new client.Counter({ name: `${prefix}disconnects_total`, help: 'Open connections that ended, by close code', labelNames: ['code'], registers });
  const retries = new client.Counter({ name: `${prefix}reconnects_scheduled_total`, help: 'Reconnect attempts scheduled', registers });
  const failures = new client.Counter({ name: `${prefix}failed_total`, help: 'Sockets that gave up (terminal errors), by error code', labelNames: ['code'], registers });
  const acks = new client.Counter({ name: `${prefix}acks_total`, help: 'Outbox messages acknowledged by the server', registers });
  const duplicates = new client.Counter({ name: `${prefix}duplicates_dropped_total`, help: 'Replayed messages dropped as already delivered', registers });
  const rtt = new client.Histogram({
    name: `${prefix}heartbeat_rtt_seconds`, help: 'Heartbeat round-trip time', registers,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
  });
  const openSockets = new client.Gauge({ name: `${prefix}open_connections`, help: 'Sockets in state open', registers });
  const outboxDepth = new Map(); // socket -> messages waiting
  new client.Gauge({ // eslint-disable-line no-new
    name: `${prefix}outbox_messages`, help: 'Messages in outboxes, not yet delivered per their guarantee', registers,
    collect() {
      let sum = 0;
      for (const size of outboxDepth.values()) sum += size;
      this.set(sum);
    },
  });

  const handlers = {
    'resilient-ws:open': (m) => connects.inc({ reconnected: String(m.reconnected) }),
    'resilient-ws:disconnect': (m) => disconnects.inc({ code: String(m.code) }),
    'resilient-ws:reconnecting': () => retries.inc(),
    'resilient-ws:failed': (m) => failures.inc({ code: m.error.code || 'unknown' }),
    'resilient-ws:ack': () => acks.inc(),
    'resilient-ws:dedupe': (m) => duplicates.inc(m.dropped),
    'resilient-ws:heartbeat': (m) => rtt.observe(m.rtt / 1000),
    'resilient-ws:outbox': (m) => outboxDepth.set(m.socket, m.size),
    'resilient-ws:state': (m) => {
      if (m.state === 'open') openSockets.inc();
      else if (m.previous === 'open') openSockets.dec();
    },
    'resilient-ws:close': (m) => outboxDepth.delete(m.socket),
  };
  for (const [name, fn] of Object.entries(handlers)) dc.subscribe(name, fn);
  return () => {
    for (const [name, fn] of Object.entries(handlers)) dc.unsubscribe(name, fn);
  };
}

module.exports = { exportResilientWsMetrics };
