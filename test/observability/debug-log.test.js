'use strict';

// NODE_DEBUG=resilient-ws prints one readable line per lifecycle event on stderr (util.debuglog),
// with no credentials; without NODE_DEBUG it prints nothing.

const { spawn } = require('child_process');
const path = require('path');
const { startWsServer } = require('../helpers/servers');
const { makeTracker } = require('../helpers/tracker');

const t = makeTracker();
afterEach(() => t.cleanup());

const LIB = path.join(__dirname, '..', '..', 'lib');
const CHILD = `
const { ResilientSocket } = require(${JSON.stringify(LIB)});
const sock = new ResilientSocket(process.argv[1], { heartbeat: { interval: 50, timeout: 2000 } });
sock.once('heartbeat', () => sock.close());
`;

function runChild(url, env) {
  const child = t.child(spawn(process.execPath, ['-e', CHILD, url], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stderr })));
}

test('NODE_DEBUG=resilient-ws logs each event on one line, credentials removed', async () => {
  const server = t.add(await startWsServer());
  const url = server.url.replace('ws://', 'ws://alice:pa55word@');
  const { code, stderr } = await runChild(url, { NODE_DEBUG: 'resilient-ws' });
  expect(code).toBe(0);
  const lines = stderr.trim().split('\n');
  const prefix = /^RESILIENT-WS \d+: socket#1 /;
  for (const line of lines) expect(line).toMatch(prefix);
  const events = lines.map((l) => l.replace(prefix, '').split(' ')[0]);
  expect(events).toEqual(expect.arrayContaining(['create', 'connecting', 'open', 'heartbeat', 'state', 'close']));
  expect(stderr).toContain(`socket#1 open attempt=1 url=${server.url} protocol="" reconnected=false`);
  expect(stderr).toMatch(/socket#1 heartbeat rtt=\d/);
  expect(stderr).not.toContain('alice');
  expect(stderr).not.toContain('pa55word');
});

test('without NODE_DEBUG nothing is printed', async () => {
  const server = t.add(await startWsServer());
  const { code, stderr } = await runChild(server.url, { NODE_DEBUG: '' });
  expect(code).toBe(0);
  expect(stderr).toBe('');
});
