'use strict';

const WebSocket = require('ws');
const { startPythonServer, pythonAvailable, pythonSkipMessage } = require('../helpers/python-peer');
const { onceWithin, waitFor } = require('../helpers/deadline');

const available = pythonAvailable();
if (!available) console.log(pythonSkipMessage());
const maybe = available ? describe : describe.skip;

maybe('startPythonServer (Python websockets 10.4)', () => {
  const toStop = [];
  afterEach(async () => {
    for (const fn of toStop.splice(0).reverse()) await fn();
  });

  function client(url, opts) {
    const ws = new WebSocket(url, opts);
    const messages = [];
    ws.on('error', () => {});
    ws.on('message', (d, isBinary) => messages.push(isBinary ? d : d.toString()));
    toStop.push(async () => ws.terminate());
    return { ws, messages };
  }

  test('echo: text and binary; __whoami__ reports path and headers', async () => {
    const py = await startPythonServer({ mode: 'echo' });
    toStop.push(() => py.stop());
    const { ws, messages } = client(py.urlFor('/room/1?after=12'), { headers: { 'X-Trace': 'abc' } });
    await onceWithin(ws, 'open', 5000);
    ws.send('__whoami__');
    ws.send('hello');
    ws.send(Buffer.from([0, 255]));
    await waitFor(() => messages.length === 3, 5000, 'three answers');
    const who = JSON.parse(messages[0]);
    expect(who).toMatchObject({ type: 'whoami', path: '/room/1?after=12' });
    expect(who.headers['x-trace']).toBe('abc');
    expect(messages[1]).toBe('hello');
    expect([...messages[2]]).toEqual([0, 255]);
  });

  test('replay: resumes after ?after=, then continues live', async () => {
    const py = await startPythonServer({ mode: 'replay', rateHz: 100, keep: 1000 });
    toStop.push(() => py.stop());
    const first = client(py.url);
    await onceWithin(first.ws, 'open', 5000);
    await waitFor(() => first.messages.length >= 5, 5000, 'five live events');
    const ids = first.messages.map((m) => JSON.parse(m).id);
    for (let i = 1; i < ids.length; i += 1) expect(ids[i]).toBe(ids[i - 1] + 1);
    first.ws.terminate();

    const resumed = client(py.urlFor('/?after=2'));
    await waitFor(() => resumed.messages.length >= ids[4] + 3, 5000, 'replay plus live events');
    const got = resumed.messages.map((m) => JSON.parse(m));
    expect(got[0]).toEqual({ id: 3, data: 'event-3' });
    got.forEach((e, i) => expect(e.id).toBe(3 + i)); // no gap, no duplicate
  });

  test('replay: an id that fell out of the buffer gets a reset first', async () => {
    const py = await startPythonServer({ mode: 'replay', rateHz: 200, keep: 3 });
    toStop.push(() => py.stop());
    const probe = client(py.url);
    await waitFor(() => probe.messages.length >= 5, 5000, 'events to pass the buffer size');
    const { ws, messages } = client(py.urlFor('/?after=0'));
    await onceWithin(ws, 'open', 5000);
    await waitFor(() => messages.length >= 2, 5000, 'the reset and an event');
    const reset = JSON.parse(messages[0]);
    expect(reset.type).toBe('reset');
    expect(JSON.parse(messages[1]).id).toBe(reset.oldest);
  });

  test('stop() ends the process', async () => {
    const py = await startPythonServer({ mode: 'echo' });
    await py.stop();
    expect(() => process.kill(py.pid, 0)).toThrow(/ESRCH/);
    await py.stop(); // idempotent
  });
});
