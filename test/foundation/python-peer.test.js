'use strict';

// Echo against an independent implementation: Python `websockets` (Debian python3-websockets).

const { startPythonServer, pythonAvailable, pythonSkipMessage } = require('../helpers/python-peer');
const { waitFor, withDeadline } = require('../helpers/deadline');
const { makeTracker, next } = require('./support');

const t = makeTracker();
afterEach(() => t.cleanup());

const available = pythonAvailable();
if (!available) console.log(pythonSkipMessage());
const maybe = available ? test : test.skip;

maybe('text and binary echo through the Python websockets server', async () => {
  const peer = t.add(await startPythonServer({ mode: 'echo' }));
  const sock = t.socket(peer.urlFor('/py?q=1'));
  await next(sock, 'open', 10000);
  const received = [];
  sock.on('message', (data) => received.push(data));

  const binary = Buffer.from(Array.from({ length: 70000 }, (_, i) => i % 251)); // > 64 KiB: 64-bit length
  await withDeadline(Promise.all([sock.send('grüße'), sock.send(binary), sock.send('__whoami__')]), 5000, 'receipts');
  await waitFor(() => received.length === 3, 5000, 'three answers');

  expect(received[0]).toBe('grüße');
  expect(Buffer.isBuffer(received[1])).toBe(true);
  expect(received[1].equals(binary)).toBe(true);
  const whoami = JSON.parse(received[2]);
  expect(whoami.type).toBe('whoami');
  expect(whoami.path).toBe('/py?q=1');
});
