'use strict';

// Which HTTP proxy a WebSocket URL goes through: the `proxy` option, or else the environment
// conventions curl, undici and most CLI tools follow — `https_proxy`/`HTTPS_PROXY` for wss://,
// `http_proxy`/`HTTP_PROXY` for ws:// (and for wss:// when no HTTPS proxy is set), lower case
// first, and `no_proxy`/`NO_PROXY` to go direct. Both ws:// and wss:// tunnel with CONNECT.

const net = require('net');
const { invalidOption } = require('./errors');

/**
 * @typedef {object} ProxyConfig what the native side needs to open a tunnel
 * @property {string} host proxy host (IPv6 without brackets)
 * @property {string} port
 * @property {string} authorization `Basic …` from the proxy URL's credentials, or ''
 * @property {string} display the proxy URL without credentials, for messages
 */

/**
 * Parses a proxy URL. Only http:// proxies: the tunnel to the proxy itself is plain TCP (the
 * WebSocket inside it is still TLS for wss://).
 * @param {string} text
 * @param {string} where option name for messages
 * @returns {ProxyConfig}
 */
function parseProxyUrl(text, where) {
  let url;
  try {
    url = new URL(text.includes('://') ? text : `http://${text}`);
  } catch {
    throw invalidOption('type', `${where} is not a valid proxy URL; expected http://[user:password@]host:port`);
  }
  if (url.protocol !== 'http:') {
    throw invalidOption('type', `${where} must be an http:// proxy URL (CONNECT tunnels over plain HTTP), got ${url.protocol}//`);
  }
  if (url.port === '0') throw invalidOption('range', `${where} has port 0; give the proxy's port`);
  const user = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  const authorization = user || password ? `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` : '';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return { host, port: url.port || '80', authorization, display: `http://${url.host}` };
}

/**
 * Whether NO_PROXY says `url` goes direct. Entries are separated by commas or spaces: `*` (every
 * host), a host name (that host and its subdomains; a leading `.` or `*.` means the same), an IP
 * address, each optionally with `:port`.
 * @param {URL} url
 * @param {string} noProxy
 */
function bypassesProxy(url, noProxy) {
  if (!noProxy) return false;
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = url.port || (url.protocol === 'wss:' ? '443' : '80');
  for (let entry of noProxy.split(/[\s,]+/)) {
    entry = entry.trim().toLowerCase();
    if (!entry) continue;
    if (entry === '*') return true;
    let entryPort = '';
    const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
    if (bracketed) {
      entry = bracketed[1];
      entryPort = bracketed[2] || '';
    } else if (net.isIP(entry) !== 6) {
      const colon = entry.lastIndexOf(':');
      if (colon > 0 && /^\d+$/.test(entry.slice(colon + 1))) {
        entryPort = entry.slice(colon + 1);
        entry = entry.slice(0, colon);
      }
    }
    if (entryPort && entryPort !== port) continue;
    entry = entry.replace(/^\*?\./, '');
    if (host === entry || (net.isIP(host) === 0 && host.endsWith(`.${entry}`))) return true;
  }
  return false;
}

/** The first non-empty of the named environment variables. */
function fromEnv(env, ...names) {
  for (const name of names) if (env[name]) return { value: env[name], name };
  return null;
}

/**
 * The proxy for each URL, or null for a direct connection.
 * @param {string[]} urls normalized ws:// / wss:// URLs
 * @param {string|false|undefined} option the `proxy` option
 * @param {NodeJS.ProcessEnv} [env]
 * @returns {(ProxyConfig|null)[]}
 */
function resolveProxies(urls, option, env = process.env) {
  if (option === false) return urls.map(() => null);
  if (option !== undefined) {
    if (typeof option !== 'string' || option === '') {
      throw invalidOption('type', 'Option proxy must be an http:// proxy URL string or false');
    }
    const proxy = parseProxyUrl(option, 'Option proxy');
    return urls.map(() => proxy);
  }
  const noProxy = (fromEnv(env, 'no_proxy', 'NO_PROXY') || { value: '' }).value;
  return urls.map((text) => {
    const url = new URL(text);
    const found = url.protocol === 'wss:'
      ? fromEnv(env, 'https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY')
      : fromEnv(env, 'http_proxy', 'HTTP_PROXY');
    if (!found || bypassesProxy(url, noProxy)) return null;
    try {
      return parseProxyUrl(found.value, `The ${found.name} environment variable`);
    } catch (err) {
      // The environment is shared by every program on the machine: a value this library cannot
      // use (an https:// proxy, say) must not make every socket's constructor throw. It is
      // reported once, and the connection goes direct.
      warnOnce(`${err.message}; connecting without a proxy. Set the proxy option to override.`);
      return null;
    }
  });
}

const warned = new Set();
function warnOnce(message) {
  if (warned.has(message)) return;
  warned.add(message);
  process.emitWarning(message, { type: 'ResilientSocketWarning', code: 'RESILIENT_WS_PROXY_ENV' });
}

module.exports = { resolveProxies, bypassesProxy, parseProxyUrl };
