'use strict';

// resilient-ws lifecycle events as OpenTelemetry metrics (npm install @opentelemetry/api plus
// the SDK and exporter of your choice). Subscribes to the library's diagnostics channels:
//
//   const { metrics } = require('@opentelemetry/api');
//   const stop = instrumentResilientWs(metrics.getMeter('my-service'));
//
// Returns a function that unsubscribes.

const dc = require('diagnostics_channel');

/**
 * @param {import('@opentelemetry/api').Meter} meter
 * @returns {() => void} unsubscribe
 */
function instrumentResilientWs(meter) {
  const connects = meter.createCounter('resilient_ws.connects', { description: 'Connections opened (reconnects included)' });
  const disconnects = meter.createCounter('resilient_ws.disconnects', { description: 'Open connections that ended, by close code' });
  const retries = meter.createCounter('resilient_ws.reconnects_scheduled', { description: 'Reconnect attempts scheduled' });
  const failures = meter.createCounter('resilient_ws.failed', { description: 'Sockets that gave up, by error code' });
  const acks = meter.createCounter('resilient_ws.acks', { description: 'Outbox messages acknowledged by the server' });
  const duplicates = meter.createCounter('resilient_ws.duplicates_dropped', { description: 'Replayed messages dropped as already delivered' });
  const rtt = meter.createHistogram('resilient_ws.heartbeat.rtt', { description: 'Heartbeat round-trip time', unit: 'ms' });
  const openSockets = meter.createUpDownCounter('resilient_ws.open_connections', { description: 'Sockets in state open' });
  const outboxDepth = new Map();
  const outbox = meter.createObservableGauge('resilient_ws.outbox.messages', { description: 'Messages in outboxes, not yet delivered' });
  const observeOutbox = (result) => {
    let sum = 0;
    for (const size of outboxDepth.values()) sum += size;
    result.observe(sum);
  };
  outbox.addCallback(observeOutbox);

  const handlers = {
    'resilient-ws:open': (m) => connects.add(1, { reconnected: m.reconnected }),
    'resilient-ws:disconnect': (m) => disconnects.add(1, { code: m.code }),
    'resilient-ws:reconnecting': () => retries.add(1),
    'resilient-ws:failed': (m) => failures.add(1, { code: m.error.code || 'unknown' }),
    'resilient-ws:ack': () => acks.add(1),
    'resilient-ws:dedupe': (m) => duplicates.add(m.dropped),
    'resilient-ws:heartbeat': (m) => rtt.record(m.rtt),
    'resilient-ws:outbox': (m) => outboxDepth.set(m.socket, m.size),
    'resilient-ws:state': (m) => {
      if (m.state === 'open') openSockets.add(1);
      else if (m.previous === 'open') openSockets.add(-1);
    },
    'resilient-ws:close': (m) => outboxDepth.delete(m.socket),
  };
  for (const [name, fn] of Object.entries(handlers)) dc.subscribe(name, fn);
  return () => {
    outbox.removeCallback(observeOutbox);
    for (const [name, fn] of Object.entries(handlers)) dc.unsubscribe(name, fn);
  };
}

module.exports = { instrumentResilientWs };
