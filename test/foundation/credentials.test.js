'use strict';

// Credentials in URLs — user info and query strings (`?token=…`) — never appear in `url`, event
// payloads or error messages. Query parameter names stay (they help debugging); their
// values are replaced by `***`.

const { startWsServer } = require('../helpers/servers');
const { refusedPort } = require('../helpers/ports');
const { makeTracker, recordEvents, next } = require('./support');

const t = makeTracker();
afterEach(() => t.cleanup());

const SECRETS = ['s3cret-token', 'alice', 'pa55word'];

/** Every string reachable from the recorded events, errors included (message, stack, fields). */
function everyString(value, seen = new Set(), out = []) {
  if (typeof value === 'string') out.push(value);
  else if (value && typeof value === 'object' && !seen.has(value)) {
    seen.add(value);
    if (value instanceof Error) out.push(value.message, String(value.stack));
    for (const key of Object.getOwnPropertyNames(value)) everyString(value[key], seen, out);
  }
  return out;
}

function expectNoSecret(things) {
  const text = everyString(things).join('\n');
  for (const secret of SECRETS) expect(text).not.toContain(secret);
}

test('an open connection: url, connecting and open carry no credentials', async () => {
  const server = t.add(await startWsServer());
  const url = server.url.replace('ws://', 'ws://alice:pa55word@') + '?token=s3cret-token&room=7';
  const sock = t.socket(url);
  const log = recordEvents(sock);
  await next(sock, 'open');
  expect(sock.url).toMatch(/\?token=\*\*\*&room=\*\*\*$/);
  expect(server.handshakes[0].url).toContain('token=s3cret-token'); // the server does get it
  expectNoSecret([sock.url, log]);
});

test('failures: refused and rejected attempts carry no credentials', async () => {
  const closedPort = await refusedPort();
  const rejecting = t.add(await startWsServer({ reject: { status: 404 } }));
  const urls = [
    `ws://alice:pa55word@127.0.0.1:${closedPort}/feed?token=s3cret-token`,
    rejecting.url.replace('ws://', 'ws://alice:pa55word@') + '?token=s3cret-token',
  ];
  for (const url of urls) {
    const sock = t.socket(url, { reconnect: false });
    const log = recordEvents(sock);
    const { error } = await next(sock, 'failed');
    if (url.includes(`:${closedPort}/`)) expect(error.message).toContain('/feed?token=***');
    expectNoSecret([sock.url, log, error]);
  }
});
