'use strict';

// Invalid options throw at construction: a TypeError or RangeError with code
// ERR_INVALID_OPTION and a message naming the option. No socket is created, so nothing
// connects and nothing keeps the process alive.

const { ResilientSocket } = require('../../lib');

const URL_OK = 'ws://127.0.0.1:9/';

// [what, url, options, error class, text the message must contain]
const cases = [
  ['an http:// URL', 'http://127.0.0.1:9/', {}, TypeError, /url.*ws:\/\/.*wss:\/\//],
  ['a URL that does not parse', 'not a url', {}, TypeError, /url/],
  ['heartbeat.interval -1', URL_OK, { heartbeat: { interval: -1 } }, RangeError, /heartbeat\.interval/],
  ['reconnect.jitter 2', URL_OK, { reconnect: { jitter: 2 } }, RangeError, /reconnect\.jitter/],
  ["the unknown option 'heartbeet'", URL_OK, { heartbeet: { interval: 1000 } }, TypeError, /heartbeet/],
  ['a subprotocol with a space', URL_OK, { protocols: ['chat v2'] }, TypeError, /protocols/],
  ['a header value with CRLF', URL_OK, { headers: { 'X-Token': 'a\r\nInjected: yes' } }, TypeError, /headers\.X-Token/],
  ["outbox.fsync 'sometimes'", URL_OK, { outbox: { fsync: 'sometimes' } }, TypeError, /outbox\.fsync.*'batch'/],
  ['maxDelay below initialDelay', URL_OK, { reconnect: { initialDelay: 5000, maxDelay: 1000 } }, RangeError,
    /reconnect\.maxDelay.*reconnect\.initialDelay/],
  // A NUL would reach OpenSSL's hostname check, which stops at it (or refuses the name).
  ['tls.servername with a NUL', URL_OK, { tls: { servername: 'good.example\0evil.example' } }, RangeError,
    /tls\.servername/],
  ['tls.servername with a space', URL_OK, { tls: { servername: 'a b' } }, RangeError, /tls\.servername/],
  ['tls.servername as a URL', URL_OK, { tls: { servername: 'https://a.example' } }, RangeError, /tls\.servername/],
];

test.each(cases)('%s throws ERR_INVALID_OPTION naming the option', (what, url, options, ErrorClass, mentions) => {
  let thrown = null;
  try {
    new ResilientSocket(url, options); // eslint-disable-line no-new
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(ErrorClass);
  expect(thrown.code).toBe('ERR_INVALID_OPTION');
  expect(thrown.message).toMatch(mentions);
});

test('valid options of the same shapes are accepted (the cases above fail for their one bad value)', async () => {
  const sock = new ResilientSocket(URL_OK, {
    autoConnect: false,
    heartbeat: { interval: 1000 },
    reconnect: { jitter: 0.5, initialDelay: 1000, maxDelay: 5000 },
    protocols: ['chat.v2'],
    headers: { 'X-Token': 'abc' },
    outbox: { fsync: 'always' },
    tls: { servername: 'api.example.com' },
  });
  expect(sock.state).toBe('idle');
  await sock.close();
  expect(sock.state).toBe('closed');
});

test.each(['example.com', 'example.com.', 'a_b.internal', '127.0.0.1', '::1', 'localhost'])(
  'tls.servername %s is accepted', async (name) => {
    const sock = new ResilientSocket(URL_OK, { autoConnect: false, tls: { servername: name } });
    await sock.close();
  });
