'use strict';

// Regression (review r6b): when JavaScript falls behind, the io thread stops reading once
// 64 MiB wait for JavaScript (backpressure). The heartbeat used to keep counting that silence
// as the peer's: with the socket unread, the server's pongs sat in the kernel buffer behind the
// data, and a perfectly healthy connection was killed with ERR_HEARTBEAT_TIMEOUT, then
// reconnected (and the stream started over). Silence while reading is paused proves nothing:
// no disconnect, every message delivered in order once JavaScript catches up, and the heartbeat
// still working afterwards.
//
// The server runs in its own process, so blocking this process's JavaScript thread blocks only
// the client's JavaScript side, as in a real application busy with CPU work.

const { ResilientSocket } = require('../../lib');
const { waitFor } = require('../helpers/deadline');
const { forkFixture, recordEvents, recorded, createScope } = require('./support');

const COUNT = 100; // x 1 MiB: well past the 64 MiB JavaScript backlog that pauses reading
const BLOCK_MS = 5000; // ten times interval + timeout
const MiB = 1 << 20;

let scope;
beforeEach(() => {
  scope = createScope();
});
afterEach(() => scope.dispose());

/** Starts flood-server.js; resolves with its port and a function asking it for its report. */
async function startFloodServer() {
  const { child, fromChild } = forkFixture(scope, 'flood-server.js', [String(COUNT)]);
  const port = await fromChild('port');
  return {
    port,
    report: () => {
      const answer = fromChild('report');
      child.send('report');
      return answer;
    },
  };
}

test(`JS blocked ${BLOCK_MS / 1000} s while ${COUNT} MiB arrive, heartbeat 300/200: no disconnect, all delivered in order`, async () => {
  const server = await startFloodServer();
  const sock = scope.socket(new ResilientSocket(`ws://127.0.0.1:${server.port}/`, {
    heartbeat: { interval: 300, timeout: 200 },
    reconnect: { initialDelay: 50, maxDelay: 500 },
  }));
  const events = recordEvents(sock);
  const received = [];
  sock.on('message', (data) => received.push(data.length === MiB ? data.readUInt32BE(0) : `bad length ${data.length}`));

  let atUnblock = null;
  sock.once('open', () => {
    // Busy-wait on purpose, inside the 'open' listener like a busy application: the server's
    // data starts arriving at once and piles up for JavaScript until reading pauses.
    const started = Date.now();
    while (Date.now() - started < BLOCK_MS) { /* blocked */ }
    atUnblock = { ...sock.stats(), blockedMs: Date.now() - started };
  });

  await recorded(events, 'open', 10000);
  await waitFor(() => received.length >= COUNT || events.some((e) => e.name === 'disconnect'), 15000,
    `all ${COUNT} messages (${received.length} so far)`);
  // The heartbeat did not just stop: a probe is answered after the backlog is gone.
  const heartbeatsBefore = events.filter((e) => e.name === 'heartbeat').length;
  await waitFor(() => events.filter((e) => e.name === 'heartbeat').length > heartbeatsBefore, 5000, 'a heartbeat after catching up');
  const report = await server.report();

  console.log(`JS blocked ${atUnblock.blockedMs} ms; the client had read ${(atUnblock.bytesIn / MiB).toFixed(1)} MiB of ${COUNT} ` +
    `by then and sent ${atUnblock.heartbeatsSent} heartbeat probes`);
  // The scenario happened: reading was paused (not everything read while JavaScript was blocked).
  expect(atUnblock.bytesIn).toBeLessThan(COUNT * MiB);
  // The connection survived it.
  expect(events.filter((e) => ['disconnect', 'reconnecting', 'failed', 'close'].includes(e.name))).toEqual([]);
  expect(events.filter((e) => e.name === 'open')).toHaveLength(1);
  expect(report).toEqual({ connections: 1, closes: [] });
  expect(received).toEqual(Array.from({ length: COUNT }, (_, i) => i));
  expect(sock.state).toBe('open');
  expect(sock.stats().connects).toBe(1);
}, 30000);
