'use strict';

// lib/load-native.js: the order it tries (override, source build, prebuilt), and that a missing,
// corrupt or foreign binary ends in one clear Error — never a crash. Each case loads from a
// throwaway package directory, so the repo's own build is never touched.

const { spawnSync } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { candidates } = require('../../lib/load-native');

const REPO = path.resolve(__dirname, '..', '..');
const PREBUILT = `prebuilds/linux-${process.arch}/resilient_ws.napi.glibc.node`;
const OTHER_ARCH = process.arch === 'x64' ? 'arm64' : 'x64';
const dirs = [];

afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/**
 * A copy of lib/ in a fresh package directory, with the given files.
 * @param {Record<string, Buffer|string>} files relative path → content
 * @returns {string} the package directory
 */
function fakePackage(files) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rws-loader-'));
  dirs.push(dir);
  fs.cpSync(path.join(REPO, 'lib'), path.join(dir, 'lib'), { recursive: true });
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), content);
  }
  return dir;
}

/**
 * require()s the fake package in a child node and reports what happened.
 * @param {string} dir
 * @param {NodeJS.ProcessEnv} [env]
 * @returns {{ status: number|null, signal: string|null, result: any, stderr: string }}
 */
function requireIn(dir, env = {}) {
  const script = `
    try {
      require(${JSON.stringify(path.join(dir, 'lib', 'index.js'))});
      const { loadedAddon } = require(${JSON.stringify(path.join(dir, 'lib', 'load-native.js'))});
      console.log(JSON.stringify({ loaded: loadedAddon() }));
    } catch (err) {
      console.log(JSON.stringify({ code: err.code, message: err.message, tried: err.tried }));
    }`;
  const childEnv = { ...process.env, ...env };
  if (!env.RESILIENT_WS_NATIVE) delete childEnv.RESILIENT_WS_NATIVE;
  const r = spawnSync(process.execPath, ['-e', script], { env: childEnv, encoding: 'utf8', timeout: 20000 });
  let result = null;
  try {
    result = JSON.parse(r.stdout.trim().split('\n').pop());
  } catch {
    // leave null: the assertions below show stdout/stderr
  }
  return { status: r.status, signal: r.signal, result, stderr: r.stderr };
}

/** The prebuilt binary for this machine, from prebuilds/ (npm run prebuild) or the source build. */
function realBinary() {
  const prebuilt = path.join(REPO, PREBUILT);
  if (fs.existsSync(prebuilt)) return prebuilt;
  return path.join(REPO, 'build', 'Release', 'resilient_ws.node');
}

test('nothing to load: one Error naming the platform, Node-API version, what was tried and the build command', () => {
  const dir = fakePackage({});
  const { status, signal, result } = requireIn(dir);
  expect([status, signal]).toEqual([0, null]);
  expect(result.code).toBe('ERR_ADDON_NOT_FOUND');
  expect(result.message).toMatch(new RegExp(`no usable native addon for linux-${process.arch} \\(glibc [0-9.]+\\)`));
  expect(result.message).toContain(`Node ${process.version} (Node-API ${process.versions.napi})`);
  expect(result.message).toMatch(/source build .*build\/Release\/resilient_ws\.node: not found/);
  expect(result.message).toMatch(/prebuilt .*resilient_ws\.napi\.glibc\.node: not found/);
  expect(result.message).toContain(`build from source: node ${path.join(dir, 'scripts', 'build.js')}`);
});

test('a corrupt prebuilt binary: the dlopen error and what to do, no crash', () => {
  const dir = fakePackage({ [PREBUILT]: crypto.randomBytes(4096) });
  const { status, signal, result } = requireIn(dir);
  expect([status, signal]).toEqual([0, null]);
  expect(result.code).toBe('ERR_ADDON_LOAD');
  expect(result.message).toMatch(/prebuilt .*: .*not an ELF file: a corrupt or truncated copy; reinstall the package/);
  expect(result.message).toContain('build from source: node ');
});

test('a binary for another architecture in this platform\'s slot: the dlopen error, no crash', () => {
  const foreign = path.join(REPO, 'prebuilds', `linux-${OTHER_ARCH}`, 'resilient_ws.napi.glibc.node');
  if (!fs.existsSync(foreign)) {
    console.log(`SKIP: ${path.relative(REPO, foreign)} missing (npm run prebuild)`);
    return;
  }
  const dir = fakePackage({ [PREBUILT]: fs.readFileSync(foreign) });
  const { status, signal, result } = requireIn(dir);
  expect([status, signal]).toEqual([0, null]);
  expect(result.code).toBe('ERR_ADDON_LOAD');
  expect(result.message).toContain(`it is built for ${OTHER_ARCH}, this process is ${process.arch}`);
});

test('a broken source build does not hide a good prebuilt binary; a good source build wins', () => {
  const dir = fakePackage({
    'build/Release/resilient_ws.node': 'not an ELF file',
    [PREBUILT]: fs.readFileSync(realBinary()),
  });
  const first = requireIn(dir);
  expect(first.result.loaded).toEqual({ label: 'prebuilt', file: path.join(dir, PREBUILT) });
  fs.copyFileSync(realBinary(), path.join(dir, 'build', 'Release', 'resilient_ws.node'));
  const second = requireIn(dir);
  expect(second.result.loaded.label).toBe('source build');
});

test('RESILIENT_WS_NATIVE is the only file tried when set', () => {
  const dir = fakePackage({ [PREBUILT]: fs.readFileSync(realBinary()) });
  const missing = requireIn(dir, { RESILIENT_WS_NATIVE: path.join(dir, 'nope.node') });
  expect(missing.result.code).toBe('ERR_ADDON_NOT_FOUND');
  expect(missing.result.tried).toEqual([expect.stringMatching(/^RESILIENT_WS_NATIVE .*nope\.node: not found$/)]);
  const good = requireIn(dir, { RESILIENT_WS_NATIVE: path.join(dir, PREBUILT) });
  expect(good.result.loaded.label).toBe('RESILIENT_WS_NATIVE');
});

test('musl and a too-old glibc are named instead of trying the glibc binary', () => {
  const root = '/pkg';
  const musl = candidates(root, {}, { family: 'musl', version: null });
  expect(musl[1].skip).toBe(`no prebuilt binary for linux-${process.arch}-musl`);
  const old = candidates(root, {}, { family: 'glibc', version: '2.17' });
  expect(old[1].skip).toBe('the prebuilt binary needs glibc >= 2.28, this system has 2.17');
  const current = candidates(root, {}, { family: 'glibc', version: '2.36' });
  expect(current.map((c) => [c.label, c.skip])).toEqual([['source build', null], ['prebuilt', null]]);
});
