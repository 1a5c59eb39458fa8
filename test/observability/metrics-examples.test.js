'use strict';

// The metrics examples (examples/metrics/) against a real connection: Prometheus via prom-client
// and OpenTelemetry via @opentelemetry/sdk-metrics both count what happened — two opens, one
// 1006 disconnect, one scheduled reconnect, two acks, heartbeats — and end with no open
// connection and an empty outbox.

const client = require('prom-client');
const { MeterProvider, MetricReader } = require('@opentelemetry/sdk-metrics');
const { startWsServer } = require('../helpers/servers');
const { makeTracker } = require('../helpers/tracker');
const { onceWithin } = require('../helpers/deadline');
const { exportResilientWsMetrics } = require('../../examples/metrics/prometheus');
const { instrumentResilientWs } = require('../../examples/metrics/opentelemetry');

const t = makeTracker();
afterEach(() => t.cleanup());

/** Collects on demand: the test reads the metrics when the scenario is over. */
class OnDemandReader extends MetricReader {
  async onForceFlush() {}
  async onShutdown() {}
}

async function scenario() {
  const acking = (ws) => ws.on('message', (data) => ws.send(JSON.stringify({ type: 'ack', key: JSON.parse(String(data)).key })));
  const server = t.add(await startWsServer({ echo: false, onConnection: acking }));
  const sock = t.socket(server.url, {
    heartbeat: { interval: 50, timeout: 2000 },
    reconnect: { initialDelay: 10, maxDelay: 20 },
    outbox: { guarantee: 'acked', keyField: 'key' },
  });
  await onceWithin(sock, 'open', 5000);
  await onceWithin(sock, 'heartbeat', 5000);
  await Promise.all([sock.send('{"n":1}'), sock.send('{"n":2}')]);
  server.terminateAll();
  await onceWithin(sock, 'open', 5000);
  await sock.close();
}

test('Prometheus (prom-client) counts a real connection\'s life', async () => {
  const register = new client.Registry();
  const stop = exportResilientWsMetrics(client, { register });
  try {
    await scenario();
  } finally {
    stop();
  }
  const text = await register.metrics();
  expect(text).toMatch(/^resilient_ws_connects_total\{reconnected="false"\} 1$/m);
  expect(text).toMatch(/^resilient_ws_connects_total\{reconnected="true"\} 1$/m);
  expect(text).toMatch(/^resilient_ws_disconnects_total\{code="1006"\} 1$/m);
  expect(text).toMatch(/^resilient_ws_reconnects_scheduled_total 1$/m);
  expect(text).toMatch(/^resilient_ws_acks_total 2$/m);
  expect(text).toMatch(/^resilient_ws_open_connections 0$/m);
  expect(text).toMatch(/^resilient_ws_outbox_messages 0$/m);
  const rttCount = Number(/^resilient_ws_heartbeat_rtt_seconds_count (\d+)$/m.exec(text)[1]);
  expect(rttCount).toBeGreaterThanOrEqual(1);
});

test('OpenTelemetry metrics count a real connection\'s life', async () => {
  const reader = new OnDemandReader();
  const provider = new MeterProvider({ readers: [reader] });
  const stop = instrumentResilientWs(provider.getMeter('test'));
  try {
    await scenario();
  } finally {
    stop();
  }
  const { resourceMetrics } = await reader.collect();
  const metrics = new Map(resourceMetrics.scopeMetrics[0].metrics.map((m) => [m.descriptor.name, m.dataPoints]));
  const sum = (name, attrs = {}) => metrics.get(name)
    .filter((p) => Object.entries(attrs).every(([k, v]) => p.attributes[k] === v))
    .reduce((s, p) => s + p.value, 0);
  expect(sum('resilient_ws.connects', { reconnected: false })).toBe(1);
  expect(sum('resilient_ws.connects', { reconnected: true })).toBe(1);
  expect(sum('resilient_ws.disconnects', { code: 1006 })).toBe(1);
  expect(sum('resilient_ws.reconnects_scheduled')).toBe(1);
  expect(sum('resilient_ws.acks')).toBe(2);
  expect(sum('resilient_ws.open_connections')).toBe(0);
  expect(metrics.get('resilient_ws.heartbeat.rtt')[0].value.count).toBeGreaterThanOrEqual(1);
  await provider.shutdown();
});
