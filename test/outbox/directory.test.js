'use strict';

// The outbox directory must be the user's own (issue 8 item 4): one that group or others can
// write, or a planted symlink where a segment belongs, could make the outbox write, truncate or
// read files elsewhere. Such a directory is refused: a terminal 'failed' with ERR_OUTBOX_IO whose
// message names the path and the fix; nothing is written through the link.

const fs = require('fs');
const { waitFor } = require('../helpers/deadline');
const { makeTracker, refusedUrl } = require('./support');

const t = makeTracker();
afterEach(() => t.cleanup());

/** Opens a socket on `path` and returns the error of its terminal 'failed'. */
async function failureOf(path) {
  const sock = t.socket(await refusedUrl(), { outbox: { path }, heartbeat: false });
  let failed = null;
  let closed = false;
  sock.on('failed', (e) => { failed = e.error; });
  sock.on('close', () => { closed = true; });
  await waitFor(() => closed, 5000, "'close'");
  return failed;
}

test('a directory group or others can write is refused with the chmod that fixes it', async () => {
  const path = `${t.tempDir('open-dir')}/outbox`;
  fs.mkdirSync(path);
  fs.chmodSync(path, 0o777);
  const error = await failureOf(path);
  expect(error.code).toBe('ERR_OUTBOX_IO');
  expect(error.message).toContain(path);
  expect(error.message).toContain(`chmod 700 ${path}`);
  expect(fs.readdirSync(path)).toEqual([]); // not even the LOCK file was created
});

test('a symlink planted where a segment belongs is refused and its target left alone', async () => {
  const base = t.tempDir('planted');
  const path = `${base}/outbox`;
  fs.mkdirSync(path, { mode: 0o700 });
  fs.writeFileSync(`${base}/precious`, 'keep me');
  fs.symlinkSync(`${base}/precious`, `${path}/seg-0000000000000001.log`);
  const error = await failureOf(path);
  expect(error.code).toBe('ERR_OUTBOX_IO');
  expect(error.message).toContain(path);
  expect(error.message).toMatch(/symbolic link/);
  expect(fs.readFileSync(`${base}/precious`, 'utf8')).toBe('keep me');
});
