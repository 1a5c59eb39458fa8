'use strict';

const net = require('net');

const { invalidOption } = require('./errors');
const { resolveProxies } = require('./proxy');

const MAX_TIMER_MS = 2 ** 31 - 1; // setTimeout's ceiling; nobody needs longer
const TOP_LEVEL = [
  'protocols', 'headers', 'connectTimeout', 'reconnect', 'heartbeat', 'resume', 'outbox',
  'maxMessageSize', 'perMessageDeflate', 'tls', 'autoConnect', 'proxy', 'followRedirects',
];

/** @param {unknown} v */
const isPlainObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v);

/**
 * Throws for keys of `obj` not in `allowed`, so a typo never silently means "default". A search
 * of the short list, not a Set made per call: a fleet of sockets opening at once normalizes its
 * options thousands of times.
 * @param {object} obj
 * @param {readonly string[]} allowed
 * @param {string} where
 */
function rejectUnknown(obj, allowed, where) {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) {
      throw invalidOption('type', `Unknown option ${where}${key}; accepted: ${allowed.join(', ')}`);
    }
  }
}

/**
 * An integer option within [min, max].
 * @returns {number}
 */
function integer(value, name, min, max, fallback) {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw invalidOption('type', `Option ${name} must be a number, got ${describe(value)}`);
  }
  if (!(value === Infinity && max === Infinity) && !Number.isInteger(value)) {
    throw invalidOption('range', `Option ${name} must be an integer, got ${value}`);
  }
  if (value < min || value > max) {
    throw invalidOption('range', `Option ${name} must be between ${min} and ${max}, got ${value}`);
  }
  return value;
}

function bool(value, name, fallback) {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidOption('type', `Option ${name} must be true or false, got ${describe(value)}`);
  return value;
}

function oneOf(value, name, choices, fallback) {
  if (value === undefined) return fallback;
  if (!choices.includes(value)) {
    throw invalidOption('type', `Option ${name} must be one of ${choices.map((c) => `'${c}'`).join(', ')}, got ${describe(value)}`);
  }
  return value;
}

function text(value, name, fallback, { nonEmpty = false } = {}) {
  if (value === undefined) return fallback;
  if (typeof value !== 'string') throw invalidOption('type', `Option ${name} must be a string, got ${describe(value)}`);
  if (nonEmpty && value.length === 0) throw invalidOption('range', `Option ${name} must not be empty`);
  return value;
}

function pem(value, name) {
  if (value === undefined) return '';
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (Array.isArray(value) && value.every((v) => typeof v === 'string' || Buffer.isBuffer(v))) {
    return value.map((v) => v.toString()).join('\n');
  }
  if (typeof value === 'string') return value;
  throw invalidOption('type', `Option ${name} must be a PEM string, a Buffer, or an array of them`);
}

function describe(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `'${value.length > 40 ? value.slice(0, 40) + '…' : value}'`;
  return typeof value === 'object' ? 'an object' : String(value);
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Validates the URL argument: a ws:// or wss:// string, or a non-empty array of them.
 * @returns {string[]}
 */
function urls(value) {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) throw invalidOption('type', 'url must be a ws:// or wss:// URL or a non-empty array of them');
  return list.map((u, i) => {
    const where = Array.isArray(value) ? `url[${i}]` : 'url';
    if (typeof u !== 'string' && !(u instanceof URL)) {
      throw invalidOption('type', `${where} must be a ws:// or wss:// URL string, got ${describe(u)}`);
    }
    let parsed;
    try {
      parsed = new URL(String(u));
    } catch {
      throw invalidOption('type', `${where} is not a valid URL; expected ws://host[:port]/path or wss://…`);
    }
    if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
      throw invalidOption('type', `${where} must use ws:// or wss://, got ${parsed.protocol}//`);
    }
    if (parsed.port === '0') throw invalidOption('range', `${where} has port 0; give the server's port (1-65535)`);
    if (parsed.hash) parsed.hash = '';
    return parsed.href;
  });
}

/**
 * The parts of a validated URL the native side connects with (native/binding/config_reader.cpp):
 * the WHATWG parse is the only URL parser; C++ only formats the Host header and display text.
 * @param {string} href
 */
function nativeUrl(href) {
  const parsed = new URL(href);
  const secure = parsed.protocol === 'wss:';
  let basicAuth = '';
  if (parsed.username || parsed.password) {
    // WHATWG keeps userinfo percent-encoded: decode %XX to bytes, keep anything else as it is.
    const raw = `${parsed.username}:${parsed.password}`;
    const bytes = [];
    for (let i = 0; i < raw.length; i++) {
      const hex = raw.slice(i + 1, i + 3);
      if (raw[i] === '%' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
        bytes.push(parseInt(hex, 16));
        i += 2;
      } else {
        bytes.push(raw.charCodeAt(i));
      }
    }
    basicAuth = Buffer.from(bytes).toString('base64');
  }
  return {
    secure,
    host: parsed.hostname, // IPv6 keeps its brackets; the native side strips them
    port: parsed.port === '' ? (secure ? 443 : 80) : Number(parsed.port),
    target: `${parsed.pathname}${parsed.search}` || '/',
    basicAuth,
    display: displayUrl(href),
  };
}

/**
 * The URL as events, errors and `sock.url` show it: no user info, and query values replaced by
 * `***`, because query strings carry tokens (`?token=…`). The names stay, to help debugging.
 * @returns {string}
 */
function displayUrl(href) {
  const made = redactUrl(href);
  const shown = shownUrls.get(made);
  if (shown !== undefined) return shown;
  if (shownUrls.size >= SHOWN_URLS_MAX) shownUrls.clear();
  shownUrls.set(made, made);
  return made;
}

/**
 * Display URLs already made: sockets made for the same URL share one string (`sock.url`, kept
 * for the socket's life: 32+ bytes each in a fleet of thousands). Keyed by the redacted URL, so
 * it holds no credentials or query values. Bounded; a service with more distinct URLs than this
 * only keeps some strings twice.
 */
const shownUrls = new Map();
const SHOWN_URLS_MAX = 256;

function redactUrl(href) {
  const parsed = new URL(href);
  parsed.username = '';
  parsed.password = '';
  // `?name=value` keeps its name; a bare `?token` is all secret.
  if (parsed.search) {
    parsed.search = parsed.search.slice(1).split('&').map((part) => (part.includes('=') ? `${part.split('=')[0]}=***` : '***')).join('&');
  }
  return parsed.href;
}

function protocols(value) {
  if (value === undefined) return [];
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || !list.every((p) => typeof p === 'string' && TOKEN.test(p))) {
    throw invalidOption('type', 'Option protocols must be a subprotocol token or an array of them (RFC 6455 tokens)');
  }
  if (new Set(list).size !== list.length) throw invalidOption('type', 'Option protocols must not repeat a subprotocol');
  return list;
}

function headers(value) {
  if (value === undefined) return [];
  if (!isPlainObject(value)) throw invalidOption('type', 'Option headers must be an object of header names to string values');
  const reserved = new Set(['host', 'upgrade', 'connection', 'sec-websocket-key', 'sec-websocket-version',
    'sec-websocket-extensions', 'sec-websocket-protocol']);
  return Object.entries(value).map(([name, v]) => {
    if (!TOKEN.test(name)) throw invalidOption('type', `Option headers: '${name}' is not a valid header name`);
    if (reserved.has(name.toLowerCase())) {
      throw invalidOption('type', `Option headers: '${name}' is set by the WebSocket handshake itself (use protocols / perMessageDeflate)`);
    }
    if (typeof v !== 'string' && typeof v !== 'number') {
      throw invalidOption('type', `Option headers.${name} must be a string`);
    }
    const s = String(v);
    if (/[\r\n\0]/.test(s)) throw invalidOption('type', `Option headers.${name} must not contain CR, LF or NUL`);
    return [name, s];
  });
}

function reconnect(value) {
  const on = value === undefined || value === true;
  if (value === false) return { ...reconnect(undefined), enabled: false };
  if (!on && !isPlainObject(value)) throw invalidOption('type', 'Option reconnect must be false, true or an object');
  const r = on ? {} : value;
  rejectUnknown(r, ['initialDelay', 'maxDelay', 'multiplier', 'jitter', 'immediate', 'stableAfter', 'maxRetries',
    'stopOnCloseCodes'], 'reconnect.');
  const initialDelay = integer(r.initialDelay, 'reconnect.initialDelay', 0, MAX_TIMER_MS, 1000);
  const maxDelay = integer(r.maxDelay, 'reconnect.maxDelay', 0, MAX_TIMER_MS, 30000);
  if (maxDelay < initialDelay) {
    throw invalidOption('range', `Option reconnect.maxDelay (${maxDelay}) must be >= reconnect.initialDelay (${initialDelay})`);
  }
  let multiplier = 2;
  if (r.multiplier !== undefined) {
    if (typeof r.multiplier !== 'number' || !Number.isFinite(r.multiplier) || r.multiplier < 1 || r.multiplier > 100) {
      throw invalidOption('range', `Option reconnect.multiplier must be a number from 1 to 100, got ${describe(r.multiplier)}`);
    }
    multiplier = r.multiplier;
  }
  let jitter = 'full';
  let jitterFraction = 0;
  if (typeof r.jitter === 'number') {
    if (!(r.jitter >= 0 && r.jitter <= 1)) {
      throw invalidOption('range', `Option reconnect.jitter as a number must be a fraction from 0 to 1, got ${r.jitter}`);
    }
    jitter = 'fraction';
    jitterFraction = r.jitter;
  } else if (r.jitter === false) {
    jitter = 'none';
  } else {
    jitter = oneOf(r.jitter, 'reconnect.jitter', ['full', 'equal', 'none'], 'full');
  }
  let stopOnCloseCodes = [1008, 4401, 4403];
  if (r.stopOnCloseCodes !== undefined) {
    if (!Array.isArray(r.stopOnCloseCodes) ||
        !r.stopOnCloseCodes.every((c) => Number.isInteger(c) && c >= 1000 && c <= 4999)) {
      throw invalidOption('type', 'Option reconnect.stopOnCloseCodes must be an array of close codes (1000-4999)');
    }
    stopOnCloseCodes = r.stopOnCloseCodes.slice();
  }
  return {
    enabled: true,
    initialDelay,
    maxDelay,
    multiplier,
    jitter,
    jitterFraction,
    immediate: bool(r.immediate, 'reconnect.immediate', true),
    stableAfter: integer(r.stableAfter, 'reconnect.stableAfter', 0, MAX_TIMER_MS, 5000),
    maxRetries: integer(r.maxRetries, 'reconnect.maxRetries', 0, Infinity, Infinity),
    stopOnCloseCodes,
  };
}

function heartbeat(value) {
  if (value === false) return { ...heartbeat(undefined), enabled: false };
  if (value !== undefined && value !== true && !isPlainObject(value)) {
    throw invalidOption('type', 'Option heartbeat must be false, true or an object');
  }
  const h = isPlainObject(value) ? value : {};
  rejectUnknown(h, ['interval', 'timeout', 'mode', 'message', 'pong'], 'heartbeat.');
  return {
    enabled: true,
    interval: integer(h.interval, 'heartbeat.interval', 1, MAX_TIMER_MS, 15000),
    timeout: integer(h.timeout, 'heartbeat.timeout', 1, MAX_TIMER_MS, 5000),
    mode: oneOf(h.mode, 'heartbeat.mode', ['ping', 'message'], 'ping'),
    message: text(h.message, 'heartbeat.message', 'ping', { nonEmpty: true }),
    pong: text(h.pong, 'heartbeat.pong', 'pong', { nonEmpty: true }),
  };
}

/**
 * A { field → value } object that recognises a JSON message (top-level or dotted fields), as the
 * native side takes it: [[path...], expected] pairs.
 */
function matchRules(match, name) {
  if (!isPlainObject(match) || Object.keys(match).length === 0) {
    throw invalidOption('type', `Option ${name} must be a non-empty object of field → value, e.g. { type: 'ack' }`);
  }
  return Object.entries(match).map(([field, expected]) => {
    if (expected !== null && !['string', 'number', 'boolean'].includes(typeof expected)) {
      throw invalidOption('type', `Option ${name}.${field} must be a string, number, boolean or null`);
    }
    return [field.split('.'), expected];
  });
}

function resume(value) {
  const off = { enabled: false, idPath: ['id'], via: 'query', param: 'after', window: 10000, resetMatch: [] };
  if (value === undefined || value === false) return off;
  if (value !== true && !isPlainObject(value)) throw invalidOption('type', 'Option resume must be an object { idField, via, param }');
  const r = value === true ? {} : value;
  rejectUnknown(r, ['idField', 'via', 'param', 'window', 'resetMatch'], 'resume.');
  const idField = text(r.idField, 'resume.idField', 'id', { nonEmpty: true });
  const via = oneOf(r.via, 'resume.via', ['query', 'header', 'message'], 'query');
  const defaults = { query: 'after', header: 'Last-Event-ID', message: '{"type":"sync","lastEventId":{{id}}}' };
  const param = text(r.param, 'resume.param', defaults[via], { nonEmpty: true });
  if (via === 'query' && !/^[A-Za-z0-9_.~-]+$/.test(param)) {
    throw invalidOption('type', `Option resume.param '${param}' must be a plain query parameter name (letters, digits, _ . ~ -)`);
  }
  if (via === 'header' && !TOKEN.test(param)) throw invalidOption('type', `Option resume.param '${param}' is not a valid header name`);
  if (via === 'message' && !param.includes('{{id}}')) {
    throw invalidOption('type', "Option resume.param for via 'message' must contain {{id}} where the last event id goes");
  }
  return {
    enabled: true,
    idPath: idField.split('.'),
    via,
    param,
    window: integer(r.window, 'resume.window', 1, 10_000_000, 10000),
    resetMatch: r.resetMatch === false ? [] : matchRules(r.resetMatch === undefined ? { type: 'reset' } : r.resetMatch, 'resume.resetMatch'),
  };
}

function outbox(value) {
  if (value !== undefined && !isPlainObject(value)) throw invalidOption('type', 'Option outbox must be an object');
  const o = value || {};
  rejectUnknown(o, ['path', 'fsync', 'maxMessages', 'maxBytes', 'onFull', 'guarantee', 'ack', 'keyField'], 'outbox.');
  const ack = o.ack === undefined ? {} : o.ack;
  if (!isPlainObject(ack)) throw invalidOption('type', 'Option outbox.ack must be an object { keyField, match }');
  rejectUnknown(ack, ['keyField', 'match'], 'outbox.ack.');
  const ackMatch = matchRules(ack.match === undefined ? { type: 'ack' } : ack.match, 'outbox.ack.match');
  return {
    path: text(o.path, 'outbox.path', '', { nonEmpty: true }),
    fsync: oneOf(o.fsync, 'outbox.fsync', ['batch', 'always', 'none'], 'batch'),
    maxMessages: integer(o.maxMessages, 'outbox.maxMessages', 1, 2 ** 32, 10000),
    maxBytes: integer(o.maxBytes, 'outbox.maxBytes', 1, Number.MAX_SAFE_INTEGER, 16 * 1024 * 1024),
    onFull: oneOf(o.onFull, 'outbox.onFull', ['reject', 'drop-oldest'], 'reject'),
    guarantee: oneOf(o.guarantee, 'outbox.guarantee', ['written', 'acked'], 'written'),
    ackKeyPath: text(ack.keyField, 'outbox.ack.keyField', 'key', { nonEmpty: true }).split('.'),
    ackMatch,
    keyField: text(o.keyField, 'outbox.keyField', ''),
  };
}

// A DNS name (labels of letters, digits, '-' and '_', dot-separated, optional trailing dot).
const HOST_NAME = /^(?=.{1,253}\.?$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

/**
 * tls.servername is what SNI carries and what the certificate must match. Anything but a host
 * name or an IP literal (a NUL, a space, a URL) is refused here, so verification is never asked
 * to match a name it would truncate or reject.
 */
function servername(value) {
  const name = text(value, 'tls.servername', '');
  if (name === '' && value === undefined) return '';
  if (net.isIP(name) === 0 && !HOST_NAME.test(name)) {
    throw invalidOption('range',
      `Option tls.servername must be a host name or an IP address (no scheme, port, spaces or control characters), got ${JSON.stringify(name)}`);
  }
  return name;
}

function tls(value) {
  if (value !== undefined && !isPlainObject(value)) throw invalidOption('type', 'Option tls must be an object');
  const t = value || {};
  rejectUnknown(t, ['ca', 'cert', 'key', 'passphrase', 'rejectUnauthorized', 'servername'], 'tls.');
  return {
    ca: pem(t.ca, 'tls.ca'),
    cert: pem(t.cert, 'tls.cert'),
    key: pem(t.key, 'tls.key'),
    passphrase: text(t.passphrase, 'tls.passphrase', ''),
    servername: servername(t.servername),
    rejectUnauthorized: bool(t.rejectUnauthorized, 'tls.rejectUnauthorized', true),
  };
}

/** `false` (a 3xx answer is terminal) or how many redirects one attempt may follow. */
function followRedirects(value) {
  if (value === undefined || value === false) return 0;
  if (value === true) {
    throw invalidOption('type', 'Option followRedirects must be false or a number of redirects to follow (e.g. 5), got true');
  }
  return integer(value, 'followRedirects', 0, 20, 0);
}

/**
 * Validates and defaults everything, and returns the flat config the native side reads
 * (native/binding/config_reader.cpp).
 * @param {string|string[]} url
 * @param {object} [options]
 */
function normalizeOptions(url, options) {
  if (options === undefined || options === null) options = {};
  if (!isPlainObject(options)) throw invalidOption('type', 'options must be an object');
  rejectUnknown(options, TOP_LEVEL, '');
  const list = urls(url);
  const connectTo = list.map(nativeUrl);
  return {
    autoConnect: bool(options.autoConnect, 'autoConnect', true),
    displayUrls: connectTo.map((u) => u.display),
    native: {
      urls: connectTo,
      proxies: resolveProxies(list, options.proxy),
      followRedirects: followRedirects(options.followRedirects),
      protocols: protocols(options.protocols),
      headers: headers(options.headers),
      connectTimeout: integer(options.connectTimeout, 'connectTimeout', 1, MAX_TIMER_MS, 10000),
      maxMessageSize: integer(options.maxMessageSize, 'maxMessageSize', 1, 2 ** 40, 16 * 1024 * 1024),
      perMessageDeflate: bool(options.perMessageDeflate, 'perMessageDeflate', false),
      tls: tls(options.tls),
      heartbeat: heartbeat(options.heartbeat),
      reconnect: reconnect(options.reconnect),
      resume: resume(options.resume),
      outbox: outbox(options.outbox),
    },
  };
}

module.exports = { normalizeOptions };
