'use strict';

// A pong becomes a 'heartbeat' event only while somebody would see it — a listener on the
// socket or a subscriber on the resilient-ws:heartbeat channel — because each one costs
// JavaScript a wake-up, and on an idle socket nothing else wakes it. These tests hold both
// halves: nobody listening means no wake-ups at all, and every way of starting to listen
// (on, once, events.once, prependListener, dc.subscribe, channel.subscribe) gets the pongs
// that follow, also after listening stopped once.

const dc = require('diagnostics_channel');
const events = require('events');
const { startWsServer } = require('../helpers/servers');
const { makeTracker } = require('../helpers/tracker');
const { waitFor, onceWithin } = require('../helpers/deadline');
const { CHANNEL_NAMES } = require('../../lib/diagnostics');
const { ResilientSocket } = require('../..');

const t = makeTracker();
afterEach(() => t.cleanup());

const HEARTBEAT = { interval: 40, timeout: 2000 };

/** An open socket with a fast heartbeat, and a count of its deliveries from the io thread. */
async function openSocket() {
  const server = t.add(await startWsServer());
  const sock = t.socket(server.url, { heartbeat: HEARTBEAT });
  // The binding calls the socket's _onEvents for every delivery from the io thread, so an own
  // property in front of the class's method counts them; it counts from 'open' on.
  const deliveries = { count: 0, counting: false };
  sock._onEvents = function countedOnEvents(batch, lengths) {
    if (deliveries.counting) deliveries.count++;
    return ResilientSocket.prototype._onEvents.call(this, batch, lengths);
  };
  await onceWithin(sock, 'open', 5000);
  deliveries.counting = true;
  return { sock, deliveries };
}

/** Resolves after `n` more pings were sent (and, on a healthy connection, answered). */
async function pings(sock, n) {
  const from = sock.stats().heartbeatsSent;
  await waitFor(() => sock.stats().heartbeatsSent >= from + n, 5000, `${n} more pings`);
}

test('nobody listening: pongs come back, JavaScript is never woken for them', async () => {
  expect(dc.channel(CHANNEL_NAMES.heartbeat).hasSubscribers).toBe(false);
  const { sock, deliveries } = await openSocket();
  await pings(sock, 8);
  expect(deliveries.count).toBe(0);
  expect(sock.stats().lastRtt).toEqual(expect.any(Number)); // the pongs did arrive
  expect(sock.state).toBe('open');
});

test('a listener added later gets the pongs; once removed they stop; added again they come back', async () => {
  const { sock, deliveries } = await openSocket();
  await pings(sock, 2);
  const rtts = [];
  const listener = ({ rtt }) => rtts.push(rtt);
  sock.on('heartbeat', listener);
  await waitFor(() => rtts.length >= 3, 5000, 'three heartbeat events');
  expect(rtts.every((rtt) => typeof rtt === 'number' && rtt >= 0)).toBe(true);
  expect(deliveries.count).toBeGreaterThanOrEqual(3); // the count sees deliveries

  sock.off('heartbeat', listener);
  await pings(sock, 3); // the first pong nobody hears turns the reports off
  const after = deliveries.count;
  await pings(sock, 5);
  expect(deliveries.count).toBe(after);

  const [first] = await onceWithin(sock, 'heartbeat', 5000);
  expect(first.rtt).toEqual(expect.any(Number));
  const [payload] = await events.once(sock, 'heartbeat');
  expect(payload.rtt).toEqual(expect.any(Number));
  const prepended = new Promise((resolve) => sock.prependOnceListener('heartbeat', resolve));
  await expect(prepended).resolves.toEqual(expect.objectContaining({ rtt: expect.any(Number) }));
});

test.each([
  ['dc.subscribe(name, fn)', (fn) => dc.subscribe(CHANNEL_NAMES.heartbeat, fn), (fn) => dc.unsubscribe(CHANNEL_NAMES.heartbeat, fn)],
  ['channel.subscribe(fn)', (fn) => dc.channel(CHANNEL_NAMES.heartbeat).subscribe(fn), (fn) => dc.channel(CHANNEL_NAMES.heartbeat).unsubscribe(fn)],
])('a channel subscriber that comes after the socket (%s) gets its pongs, and only while subscribed', async (_, subscribe, unsubscribe) => {
  const { sock, deliveries } = await openSocket();
  await pings(sock, 2);
  expect(deliveries.count).toBe(0);
  const seen = [];
  const fn = (message) => {
    if (message.socket === sock) seen.push(message.rtt);
  };
  subscribe(fn);
  try {
    await waitFor(() => seen.length >= 3, 5000, 'three messages on the heartbeat channel');
  } finally {
    unsubscribe(fn);
  }
  expect(deliveries.count).toBeGreaterThanOrEqual(3); // the count sees deliveries
  const after = deliveries.count;
  await pings(sock, 5);
  expect(deliveries.count).toBe(after);
});

test('with a second copy of the package watching the channel too, a late subscriber still reaches this copy\'s sockets', async () => {
  let other;
  jest.isolateModules(() => {
    other = require('../../lib/diagnostics'); // as a nested node_modules copy would load it
  });
  const heard = [];
  other.watchSubscribers('heartbeat', (subscribed) => heard.push(subscribed));
  const { sock } = await openSocket();
  const seen = [];
  const fn = (message) => {
    if (message.socket === sock) seen.push(message.rtt);
  };
  dc.subscribe(CHANNEL_NAMES.heartbeat, fn);
  try {
    await waitFor(() => seen.length >= 2, 5000, 'messages on the heartbeat channel');
  } finally {
    dc.unsubscribe(CHANNEL_NAMES.heartbeat, fn);
  }
  expect(heard[0]).toBe(false);
  expect(heard).toContain(true);
  expect(heard[heard.length - 1]).toBe(false);
});
