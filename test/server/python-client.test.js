'use strict';

// The wire protocol is not tied to resilient-ws: a Python `websockets` client that follows the
// README (query route, event ids, ack by key) resumes without gaps and gets its acks, with the
// handler called once for a key sent twice.

const path = require('path');
const readline = require('readline');
const { spawn } = require('child_process');
const { ResilientServer, MemoryStore } = require('../../lib/server');
const { makeTracker } = require('../helpers/tracker');
const { withDeadline } = require('../helpers/deadline');
const { WaitQueue } = require('../helpers/wait-queue');
const { pythonAvailable, pythonSkipMessage, PYTHON } = require('../helpers/python-peer');

const available = pythonAvailable();
if (!available) console.log(pythonSkipMessage());
const maybe = available ? test : test.skip;

const t = makeTracker();
afterEach(() => t.cleanup());

maybe('a Python websockets client resumes with ?after=, gets every later event once, and one ack per send (handler once)', async () => {
  const orders = [];
  const server = t.add(new ResilientServer({
    port: 0, host: '127.0.0.1', store: new MemoryStore({ firstId: 1 }), onMessage: (msg) => { orders.push(msg); },
  }));
  await server.listening;
  for (let i = 1; i <= 10; i++) await server.publish({ i });

  const child = t.child(spawn(PYTHON, ['-I', '-u', path.join(__dirname, 'fixtures', 'py-client.py'), String(server.port), '3'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  }));
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const lines = new WaitQueue('a line from the Python client');
  readline.createInterface({ input: child.stdout }).on('line', (l) => lines.push(l));
  child.on('exit', (code) => lines.end(new Error(`Python client exited with ${code}: ${stderr}`)));

  child.stdin.write('head 10\n');
  const away = await lines.next(15000);
  expect(away).toBe('away 10');
  for (let i = 11; i <= 20; i++) await server.publish({ i });
  child.stdin.write('head 20\n');
  const result = JSON.parse(await lines.next(15000));
  await withDeadline(new Promise((resolve) => child.once('exit', resolve)), 5000, 'the Python client to exit');

  expect(result.ids).toEqual(Array.from({ length: 17 }, (_, k) => k + 4)); // 4..20
  expect(result.acks).toEqual([{ type: 'ack', key: 'py-1' }, { type: 'ack', key: 'py-1' }]);
  expect(result.other).toEqual([]);
  expect(orders).toEqual([{ type: 'order', key: 'py-1', qty: 3 }]);
  expect(server.stats()).toMatchObject({ replays: 2, acks: 1, duplicates: 1 });
});
