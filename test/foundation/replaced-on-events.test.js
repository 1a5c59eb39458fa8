'use strict';

// The binding delivers a socket's events by calling its _onEvents method. An application that
// overwrites it with something that is not a function must get an error that says so, not a
// socket whose events (its final 'close' among them) vanish without a word. Runs in a child
// process: the error is an uncaught exception there.

const { spawn } = require('child_process');
const { withDeadline } = require('../helpers/deadline');
const { REPO } = require('./support');

const EXIT_MS = 15000; // node start-up plus the addon on a loaded machine

// Port 1 refuses at once, so the socket has events ('state', 'connecting', 'reconnecting') to
// deliver right away.
const CHILD_SOURCE = `
const { ResilientSocket } = require(${JSON.stringify(`${REPO}/lib`)});
const s = new ResilientSocket('ws://127.0.0.1:1/');
s._onEvents = 42;
setTimeout(() => { console.log('no error'); process.exit(0); }, 5000);
`;

test('a socket whose _onEvents was overwritten fails loudly with a TypeError that names it', async () => {
  const child = spawn(process.execPath, ['-e', CHILD_SOURCE], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const code = await withDeadline(new Promise((resolve) => child.on('exit', resolve)), EXIT_MS, 'child exit');
  expect(stdout).not.toContain('no error');
  expect(code).not.toBe(0);
  expect(stderr).toContain('TypeError');
  expect(stderr).toContain('_onEvents is not a function');
});
