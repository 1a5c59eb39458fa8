// @ts-check
// Compile-only: a plain-JavaScript CommonJS consumer; `// @ts-check` makes the editor (and this
// test) apply binding.d.ts to `require('resilient-ws')`.
'use strict';

const { ResilientSocket, ResilientSocketError, ERROR_CODES } = require('resilient-ws');

const sock = new ResilientSocket(['ws://a.example', 'ws://b.example'], {
  heartbeat: { interval: 10000, timeout: 3000 },
  outbox: { path: './outbox', fsync: 'always' },
});
sock.on('message', (data, info) => {
  /** @type {string | Buffer} */
  const payload = data;
  /** @type {boolean} */
  const replayed = info.replayed;
  void [payload, replayed];
});
sock.on('reconnecting', ({ attempt, delay }) => {
  /** @type {number} */
  const wait = delay;
  void [attempt, wait];
});
sock.send('hello').then((receipt) => {
  /** @type {'written' | 'persisted' | 'acked'} */
  const status = receipt.status;
  void status;
}, (err) => {
  if (err instanceof ResilientSocketError && err.code === 'ERR_OUTBOX_FULL') void ERROR_CODES[err.code];
});

// @ts-expect-error send() takes a string or binary data
sock.send(123);
// @ts-expect-error jitter is 'full' | 'equal' | 'none' | false | a fraction
new ResilientSocket('ws://x', { reconnect: { jitter: 'sometimes' } });
