'use strict';

// Which proxy each URL uses (pure logic): the `proxy` option, the environment conventions
// (lower case first; https_proxy for wss:// falling back to http_proxy) and NO_PROXY matching.

const { resolveProxies, bypassesProxy, parseProxyUrl } = require('../../lib/proxy');

const WS = 'ws://api.example.com/feed';
const WSS = 'wss://api.example.com/feed';

test('the proxy option applies to every URL; false ignores the environment', () => {
  const env = { HTTP_PROXY: 'http://env-proxy:3128' };
  const [a, b] = resolveProxies([WS, WSS], 'http://u:p%40ss@proxy.local:8080', env);
  expect(a).toEqual({ host: 'proxy.local', port: '8080', authorization: `Basic ${Buffer.from('u:p@ss').toString('base64')}`, display: 'http://proxy.local:8080' });
  expect(b).toBe(a);
  expect(resolveProxies([WS, WSS], false, env)).toEqual([null, null]);
});

test('environment: ws:// uses http_proxy; wss:// uses https_proxy, else http_proxy; lower case wins', () => {
  expect(resolveProxies([WS, WSS], undefined, { HTTP_PROXY: 'http://h:1' }).map((p) => p && p.host)).toEqual(['h', 'h']);
  expect(resolveProxies([WS, WSS], undefined, { HTTPS_PROXY: 'http://s:2' }).map((p) => p && p.host)).toEqual([null, 's']);
  expect(resolveProxies([WS, WSS], undefined, { HTTP_PROXY: 'http://upper:1', http_proxy: 'http://lower:1' })[0].host).toBe('lower');
  expect(resolveProxies([WS], undefined, { HTTP_PROXY: 'proxy.corp:3128' })[0]).toMatchObject({ host: 'proxy.corp', port: '3128' });
  expect(resolveProxies([WS], undefined, {})).toEqual([null]);
});

test('NO_PROXY: *, hosts and their subdomains, leading dots, ports, IPs', () => {
  const url = (s) => new URL(s);
  expect(bypassesProxy(url('ws://a.example.com/'), '*')).toBe(true);
  expect(bypassesProxy(url('ws://example.com/'), 'example.com')).toBe(true);
  expect(bypassesProxy(url('ws://a.b.example.com/'), 'example.com')).toBe(true);
  expect(bypassesProxy(url('ws://a.example.com/'), '.example.com')).toBe(true);
  expect(bypassesProxy(url('ws://a.example.com/'), '*.example.com')).toBe(true);
  expect(bypassesProxy(url('ws://badexample.com/'), 'example.com')).toBe(false);
  expect(bypassesProxy(url('ws://example.com:8080/'), 'example.com:8080')).toBe(true);
  expect(bypassesProxy(url('ws://example.com:9090/'), 'example.com:8080')).toBe(false);
  expect(bypassesProxy(url('wss://example.com/'), 'example.com:443')).toBe(true);
  expect(bypassesProxy(url('ws://127.0.0.1:5000/'), 'localhost, 127.0.0.1')).toBe(true);
  expect(bypassesProxy(url('ws://[::1]:5000/'), '::1')).toBe(true);
  expect(bypassesProxy(url('ws://[::1]:5000/'), '[::1]:5000')).toBe(true);
  expect(bypassesProxy(url('ws://10.0.0.1/'), '0.0.1')).toBe(false); // no suffix matching on IPs
  expect(bypassesProxy(url('ws://x.com/'), '')).toBe(false);
  const env = { HTTP_PROXY: 'http://p:1', NO_PROXY: 'internal.corp' };
  expect(resolveProxies(['ws://svc.internal.corp/', WS], undefined, env).map((p) => p && p.host)).toEqual([null, 'p']);
});

test('bad proxy URLs are refused with a message naming where they came from', () => {
  expect(() => resolveProxies([WS], 'https://proxy:443')).toThrow(/Option proxy must be an http:\/\//);
  expect(() => resolveProxies([WS], 'socks5://proxy:1080')).toThrow(/Option proxy/);
  expect(() => resolveProxies([WS], '')).toThrow(/Option proxy/);
  expect(() => resolveProxies([WS], 42)).toThrow(/Option proxy/);
  // From the environment, an unusable value is reported once and the socket goes direct.
  const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => {});
  try {
    expect(resolveProxies([WS, WS], undefined, { http_proxy: 'https://proxy:443' })).toEqual([null, null]);
    expect(emitWarning).toHaveBeenCalledTimes(1); // once, not per URL or per socket
    const [message, { code }] = emitWarning.mock.calls[0];
    expect(code).toBe('RESILIENT_WS_PROXY_ENV');
    expect(message).toMatch(/http_proxy environment variable.*connecting without a proxy/);
  } finally {
    emitWarning.mockRestore();
  }
  expect(() => parseProxyUrl('http://proxy:0', 'Option proxy')).toThrow(/port 0/);
  try {
    resolveProxies([WS], 'ftp://u:secret@p:1');
  } catch (err) {
    expect(err.code).toBe('ERR_INVALID_OPTION');
    expect(err.message).not.toContain('secret');
  }
});
