'use strict';

// ESM entry points, in child processes because Jest runs
// CommonJS: the file import of lib/index.mjs, and the bare name 'resilient-ws' resolved
// through package.json "exports" from an app that has the package installed.

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');
const { startWsServer } = require('../helpers/servers');
const { withDeadline } = require('../helpers/deadline');
const { makeTracker, REPO } = require('./support');

const CHILD_MS = 15000;
const t = makeTracker();
const cleanups = [];

afterEach(async () => {
  for (const fn of cleanups.splice(0)) fn();
  await t.cleanup();
});

/**
 * Runs an ES module given as text; resolves with its exit status and output.
 *
 * @param {string} source
 * @param {string} cwd
 * @param {string[]} args available to the module as process.argv[1..]
 */
function runModule(source, cwd, args) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', source, ...args], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
  child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const done = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return withDeadline(done, CHILD_MS, 'the ESM child to finish');
}

// The body shared by both imports: one echo round trip, then close, then print what it saw.
const ROUND_TRIP = `
const url = process.argv[1];
const sock = new ResilientSocket(url);
sock.on('open', () => sock.send('from esm'));
sock.on('message', async (data) => {
  await sock.close();
  console.log(JSON.stringify({ data, state: sock.state, hasCodes: typeof ERROR_CODES.ERR_AUTH === 'string' }));
});
`;

test('import { ResilientSocket } from lib/index.mjs works and exits after close()', async () => {
  const server = t.add(await startWsServer());
  const entry = path.join(REPO, 'lib', 'index.mjs');
  const source = `import { ResilientSocket, ERROR_CODES } from ${JSON.stringify(entry)};\n${ROUND_TRIP}`;
  const result = await runModule(source, os.tmpdir(), [server.url]);
  expect(result).toEqual({
    code: 0,
    signal: null,
    stdout: `${JSON.stringify({ data: 'from esm', state: 'closed', hasCodes: true })}\n`,
    stderr: '',
  });
  expect(server.connections[0].messages).toEqual([{ data: 'from esm', isBinary: false }]);
});

test("import pkg from 'resilient-ws' resolves through package exports (default and named agree)", async () => {
  const server = t.add(await startWsServer());
  // An app directory with the package installed (as a link to this repo).
  const app = fs.mkdtempSync(path.join(os.tmpdir(), 'rws-esm-app-'));
  cleanups.push(() => fs.rmSync(app, { recursive: true, force: true }));
  fs.mkdirSync(path.join(app, 'node_modules'));
  fs.symlinkSync(REPO, path.join(app, 'node_modules', 'resilient-ws'), 'dir');
  fs.writeFileSync(path.join(app, 'package.json'), '{"name":"esm-app","private":true,"type":"module"}\n');

  const source = `
import pkg from 'resilient-ws';
import { ResilientSocket as Named } from 'resilient-ws';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const cjs = require('resilient-ws');
if (pkg.ResilientSocket !== Named) throw new Error('default and named exports differ');
if (cjs.ResilientSocket !== Named) throw new Error('ESM and CommonJS entries load different classes');
const { ResilientSocket, ERROR_CODES } = pkg;
console.log(import.meta.resolve('resilient-ws'));
${ROUND_TRIP}`;
  const result = await runModule(source, app, [server.url]);
  const [resolved, roundTrip] = result.stdout.trim().split('\n');
  expect(resolved).toMatch(/\/lib\/index\.mjs$/); // the "import" condition, not "main"
  expect({ ...result, stdout: roundTrip }).toEqual({
    code: 0,
    signal: null,
    stdout: JSON.stringify({ data: 'from esm', state: 'closed', hasCodes: true }),
    stderr: '',
  });
});
