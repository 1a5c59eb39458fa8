'use strict';

// Lifecycle events on node:diagnostics_channel, the way undici publishes its own: monitoring
// code subscribes by channel name without holding a reference to any socket, and a channel
// nobody subscribes to costs one property read. NODE_DEBUG=resilient-ws turns the same events
// into a one-line-per-event log (util.debuglog).

const dc = require('diagnostics_channel');
const util = require('util');

/**
 * Every channel, by the name lib/ publishes under. Each message is a plain object carrying the
 * `socket` it is about and the fields of the matching event (see binding.d.ts
 * DiagnosticsChannelMessages).
 */
const CHANNEL_NAMES = {
  create: 'resilient-ws:socket:create',
  state: 'resilient-ws:state',
  connecting: 'resilient-ws:connecting',
  open: 'resilient-ws:open',
  disconnect: 'resilient-ws:disconnect',
  reconnecting: 'resilient-ws:reconnecting',
  heartbeat: 'resilient-ws:heartbeat',
  outbox: 'resilient-ws:outbox',
  ack: 'resilient-ws:ack',
  dedupe: 'resilient-ws:dedupe',
  resumeReset: 'resilient-ws:resume:reset',
  failed: 'resilient-ws:failed',
  close: 'resilient-ws:close',
};

Object.freeze(CHANNEL_NAMES);
const channels = Object.fromEntries(Object.entries(CHANNEL_NAMES).map(([k, name]) => [k, dc.channel(name)]));

/**
 * Publishes `fields` for `socket` on the channel `which`, if anybody listens.
 * @param {keyof typeof CHANNEL_NAMES} which
 * @param {object} socket
 * @param {object} fields
 */
function publish(which, socket, fields) {
  const channel = channels[which];
  if (channel.hasSubscribers) channel.publish({ socket, ...fields });
}

/** @returns {boolean} whether anybody listens on `which` (to skip computing a message) */
function wanted(which) {
  return channels[which].hasSubscribers;
}

/**
 * Calls `onChange(hasSubscribers)` now and whenever somebody subscribes to or unsubscribes from
 * `which`. diagnostics_channel has no such notification, so the channel object gets its own
 * subscribe/unsubscribe that call the real ones and then report. Both `dc.subscribe(name, fn)`
 * and `channel.subscribe(fn)` go through them; this module holds the channel, so every
 * `dc.channel(name)` returns this same object. Another copy of this package in the process (a
 * nested node_modules) wraps the same object: each wrapper calls the one it found, so both hear.
 * @param {keyof typeof CHANNEL_NAMES} which
 * @param {(hasSubscribers: boolean) => void} onChange
 */
function watchSubscribers(which, onChange) {
  const channel = channels[which];
  for (const method of ['subscribe', 'unsubscribe']) {
    const earlier = Object.getOwnPropertyDescriptor(channel, method);
    Object.defineProperty(channel, method, {
      configurable: true,
      writable: true,
      value(...args) {
        // The real one is looked up at call time: Node's inactive channel's subscribe re-enters
        // through `this.subscribe` once it has made the channel active.
        const real = earlier ? earlier.value : Object.getPrototypeOf(this)[method];
        const result = Reflect.apply(real, this, args);
        onChange(channel.hasSubscribers);
        return result;
      },
    });
  }
  onChange(channel.hasSubscribers);
}

// --- NODE_DEBUG=resilient-ws ------------------------------------------------------------------

/** One value as the log shows it: strings quoted only when they need it, errors by code. */
function show(value) {
  if (value instanceof Error) return `${value.code || value.name}(${JSON.stringify(value.message)})`;
  if (typeof value === 'string') return /^[\w.:/?=&*@[\]-]*$/.test(value) && value !== '' ? value : JSON.stringify(value);
  return String(value);
}

/** `socket#3 open url=ws://h/ attempt=1`: the event name, then every field but `socket`. */
function formatLine(which, message) {
  const parts = [`socket#${message.socket.id}`, which];
  for (const [key, value] of Object.entries(message)) {
    if (key !== 'socket' && value !== undefined) parts.push(`${key}=${show(value)}`);
  }
  return parts.join(' ');
}

function enableDebugLog() {
  const debug = util.debuglog('resilient-ws');
  if (!debug.enabled) return;
  for (const [which, channel] of Object.entries(channels)) {
    channel.subscribe((message) => debug('%s', formatLine(which, message)));
  }
}

enableDebugLog();

module.exports = { CHANNEL_NAMES, publish, wanted, watchSubscribers, formatLine };
