'use strict';

// Validates and defaults the server companion's options, in the style of lib/options.js: a typo
// or a wrong type throws TypeError/RangeError with code ERR_INVALID_OPTION naming the option and
// what is accepted, at construction, never later on a live connection.

const { invalidOption } = require('../errors');

const MAX_TIMER_MS = 2 ** 31 - 1;

const isPlainObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v);

function describe(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `'${value.length > 40 ? value.slice(0, 40) + '…' : value}'`;
  return typeof value === 'object' ? 'an object' : String(value);
}

/** Throws for unknown keys, so a misspelt option never silently means "default". */
function rejectUnknown(obj, allowed, where) {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) {
      throw invalidOption('type', `Unknown option ${where}${key}; accepted: ${allowed.join(', ')}`);
    }
  }
}

function integer(value, name, min, max, fallback) {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw invalidOption('type', `Option ${name} must be a number, got ${describe(value)}`);
  }
  if (!Number.isInteger(value)) throw invalidOption('range', `Option ${name} must be an integer, got ${value}`);
  if (value < min || value > max) {
    throw invalidOption('range', `Option ${name} must be between ${min} and ${max}, got ${value}`);
  }
  return value;
}

function text(value, name, fallback) {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value.length === 0) {
    throw invalidOption('type', `Option ${name} must be a non-empty string, got ${describe(value)}`);
  }
  return value;
}

/** A route name, or `false` to turn the route off. */
function route(value, name, fallback, pattern) {
  if (value === false) return null;
  const v = text(value, name, fallback);
  if (!pattern.test(v)) throw invalidOption('type', `Option ${name} '${v}' is not a valid name`);
  return v;
}

/** `{ field: value }` with dotted field paths → `[[path], value]` pairs (like outbox.ack.match). */
function matcher(value, name, fallback) {
  const m = value === undefined ? fallback : value;
  if (!isPlainObject(m) || Object.keys(m).length === 0) {
    throw invalidOption('type', `Option ${name} must be a non-empty object of field → value, e.g. { type: 'sync' }`);
  }
  return Object.entries(m).map(([field, expected]) => {
    if (expected !== null && !['string', 'number', 'boolean'].includes(typeof expected)) {
      throw invalidOption('type', `Option ${name}.${field} must be a string, number, boolean or null`);
    }
    return [field.split('.'), expected];
  });
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const QUERY_NAME = /^[A-Za-z0-9_.~-]+$/;
const STORE_METHODS = ['append', 'read', 'subscribe', 'claimKey', 'completeKey', 'releaseKey'];

const TOP_LEVEL = ['wss', 'server', 'port', 'host', 'path', 'store', 'stream', 'idField', 'eventType', 'resume',
  'keyField', 'ack', 'onMessage', 'keyTtl', 'keyLease', 'ping', 'maxBufferedBytes', 'maxMessageSize',
  'replayPageSize', 'maxPendingEvents'];

/**
 * @param {object} options see server.d.ts ServerOptions
 * @returns {object} the normalized options
 */
function normalizeServerOptions(options) {
  if (!isPlainObject(options)) throw invalidOption('type', 'ResilientServer options must be an object with wss, server or port');
  rejectUnknown(options, TOP_LEVEL, '');
  const targets = ['wss', 'server', 'port'].filter((k) => options[k] !== undefined);
  if (targets.length !== 1) {
    throw invalidOption('type', `Give exactly one of options wss (a ws WebSocketServer), server (an http.Server) or port; got ${targets.length ? targets.join(' and ') : 'none'}`);
  }
  if (options.wss !== undefined && (!options.wss || typeof options.wss.on !== 'function' || typeof options.wss.handleUpgrade !== 'function')) {
    throw invalidOption('type', 'Option wss must be a WebSocketServer from the ws package');
  }
  if (options.server !== undefined && (!options.server || typeof options.server.on !== 'function' || typeof options.server.listen !== 'function')) {
    throw invalidOption('type', 'Option server must be an http.Server or https.Server');
  }
  const port = integer(options.port, 'port', 0, 65535, undefined);
  if (options.host !== undefined && options.port === undefined) throw invalidOption('type', 'Option host needs option port');
  if (options.path !== undefined && options.wss !== undefined) throw invalidOption('type', 'Option path applies to server or port, not wss (set it on your WebSocketServer)');
  if (options.store !== undefined && !(options.store && STORE_METHODS.every((m) => typeof options.store[m] === 'function'))) {
    throw invalidOption('type', `Option store must implement ${STORE_METHODS.join(', ')} (a MemoryStore, a RedisStore or your own)`);
  }
  for (const fn of ['stream', 'onMessage']) {
    if (options[fn] !== undefined && typeof options[fn] !== 'function') {
      throw invalidOption('type', `Option ${fn} must be a function, got ${describe(options[fn])}`);
    }
  }
  let eventType = 'event';
  if (options.eventType === null) eventType = null;
  else eventType = text(options.eventType, 'eventType', 'event');

  const r = options.resume === undefined ? {} : options.resume;
  if (!isPlainObject(r)) throw invalidOption('type', 'Option resume must be an object { query, header, sync, syncTimeout }');
  rejectUnknown(r, ['query', 'header', 'sync', 'syncTimeout'], 'resume.');
  let sync = null;
  if (r.sync !== false) {
    const s = r.sync === undefined ? {} : r.sync;
    if (!isPlainObject(s)) throw invalidOption('type', 'Option resume.sync must be false or an object { match, field }');
    rejectUnknown(s, ['match', 'field'], 'resume.sync.');
    sync = { match: matcher(s.match, 'resume.sync.match', { type: 'sync' }), field: text(s.field, 'resume.sync.field', 'lastEventId').split('.') };
  }

  const a = options.ack === undefined ? {} : options.ack;
  if (!isPlainObject(a)) throw invalidOption('type', 'Option ack must be an object { keyField, match }');
  rejectUnknown(a, ['keyField', 'match'], 'ack.');

  let ping = { interval: 30000, timeout: 10000 };
  if (options.ping === false) ping = null;
  else if (options.ping !== undefined) {
    if (!isPlainObject(options.ping)) throw invalidOption('type', 'Option ping must be false or an object { interval, timeout }');
    rejectUnknown(options.ping, ['interval', 'timeout'], 'ping.');
    ping = {
      interval: integer(options.ping.interval, 'ping.interval', 10, MAX_TIMER_MS, 30000),
      timeout: integer(options.ping.timeout, 'ping.timeout', 10, MAX_TIMER_MS, 10000),
    };
  }

  return {
    wss: options.wss,
    server: options.server,
    port,
    host: options.host === undefined ? undefined : text(options.host, 'host'),
    path: options.path === undefined ? undefined : text(options.path, 'path'),
    store: options.store,
    stream: options.stream || (() => 'default'),
    idPath: text(options.idField, 'idField', 'id').split('.'),
    eventType,
    routes: {
      query: route(r.query, 'resume.query', 'after', QUERY_NAME),
      header: route(r.header, 'resume.header', 'Last-Event-ID', TOKEN),
    },
    sync,
    syncTimeout: integer(r.syncTimeout, 'resume.syncTimeout', 0, MAX_TIMER_MS, 500),
    keyPath: text(options.keyField, 'keyField', 'key').split('.'),
    ackKeyPath: text(a.keyField, 'ack.keyField', 'key').split('.'),
    ackMatch: matcher(a.match, 'ack.match', { type: 'ack' }),
    onMessage: options.onMessage || null,
    keyTtl: integer(options.keyTtl, 'keyTtl', 1000, 365 * 86400000, 86400000),
    keyLease: integer(options.keyLease, 'keyLease', 100, MAX_TIMER_MS, 30000),
    ping,
    maxBufferedBytes: integer(options.maxBufferedBytes, 'maxBufferedBytes', 1024, Number.MAX_SAFE_INTEGER, 16 * 1024 * 1024),
    maxMessageSize: integer(options.maxMessageSize, 'maxMessageSize', 64, 2 ** 31, 16 * 1024 * 1024),
    replayPageSize: integer(options.replayPageSize, 'replayPageSize', 1, 100000, 1000),
    maxPendingEvents: integer(options.maxPendingEvents, 'maxPendingEvents', 1, 10_000_000, 100000),
  };
}

/**
 * Validates store options shared by MemoryStore and RedisStore.
 *
 * @param {object|undefined} options
 * @param {string} where class name for messages
 * @param {object} defaults per store
 * @param {string[]} [extra] further option names the caller validates itself
 */
function checkStoreOptions(options, where, defaults, extra = []) {
  const o = options === undefined ? {} : options;
  if (!isPlainObject(o)) throw invalidOption('type', `${where} options must be an object`);
  rejectUnknown(o, [...Object.keys(defaults), 'firstId', ...extra], `${where}.`);
  const out = {};
  if ('maxEvents' in defaults) out.maxEvents = integer(o.maxEvents, `${where}.maxEvents`, 1, 2 ** 32, defaults.maxEvents);
  if ('maxBytes' in defaults) out.maxBytes = integer(o.maxBytes, `${where}.maxBytes`, 1024, Number.MAX_SAFE_INTEGER, defaults.maxBytes);
  if ('maxAge' in defaults) out.maxAge = integer(o.maxAge, `${where}.maxAge`, 0, 365 * 86400000, defaults.maxAge);
  if ('maxKeys' in defaults) out.maxKeys = integer(o.maxKeys, `${where}.maxKeys`, 1, 2 ** 32, defaults.maxKeys);
  out.firstId = o.firstId === undefined || o.firstId === 'clock'
    ? 'clock'
    : integer(o.firstId, `${where}.firstId`, 1, 2 ** 52, 1);
  return out;
}

module.exports = { normalizeServerOptions, checkStoreOptions, isPlainObject, integer, text, rejectUnknown, describe };
