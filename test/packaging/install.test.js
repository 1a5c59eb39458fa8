'use strict';

// The package as users get it: `npm pack` (its prepack runs `npm run
// prebuild`, so the tarball carries binaries built from these sources), then `npm install` of
// the tarball alone into an empty project, offline, with an empty npm cache and a PATH holding
// nothing but `node` (no compiler, no cmake, no make): no install script may run and nothing may
// be compiled. Then the smoke suite (test/packaging/smoke.js) against the installed copy, on
// this Node, on every supported Node major (official binaries from npm, cached), and on arm64
// under qemu-user.

const { execFile, execFileSync, spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { makeCerts, opensslAvailable } = require('../helpers/certs');
const { auditElf, auditProblems, GLIBC_BASELINE } = require('../../scripts/elf-audit');
const { sourceHash } = require('../../scripts/prebuild');
const { nodeMatrix, nodeCommand, arm64Runner } = require('../../scripts/node-matrix');

const REPO = path.resolve(__dirname, '..', '..');
const MiB = 1024 * 1024;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'rws-packaging-'));
const project = path.join(work, 'project');
const installed = path.join(project, 'node_modules', 'resilient-ws');
let tarball = null;
let packInfo = null;
let certs = null;

/** Every file under dir (regular files; symlinks are not followed), with its size. */
function walk(dir, out = []) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(full, out);
    else if (entry.isFile()) out.push({ file: full, size: fs.statSync(full).size });
  }
  return out;
}

/** A bin directory with `node` and nothing else: what "no toolchain on PATH" means here. */
function nodeOnlyPath() {
  const bin = path.join(work, 'bin');
  if (!fs.existsSync(bin)) {
    fs.mkdirSync(bin);
    fs.symlinkSync(process.execPath, path.join(bin, 'node'));
  }
  return bin;
}

/** Environment with no toolchain: PATH = node only, no compiler or include-path variables. */
function bareEnv(extra = {}) {
  const env = { HOME: process.env.HOME, TMPDIR: os.tmpdir(), PATH: nodeOnlyPath(), LANG: 'C.UTF-8', ...extra };
  return env;
}

beforeAll(() => {
  // What `npm pack`'s prepack does (npm run prebuild: nothing to do when prebuilds/ matches the
  // sources, a few minutes otherwise), run first so that its output does not mix into pack's JSON.
  const prebuild = spawnSync(process.execPath, [path.join(REPO, 'scripts', 'prebuild.js')], {
    cwd: REPO, encoding: 'utf8', maxBuffer: 64 * MiB,
  });
  if (prebuild.status !== 0) throw new Error(`npm run prebuild failed:\n${prebuild.stdout}\n${prebuild.stderr}`);
  console.log(prebuild.stdout.trim().split('\n').filter((l) => l.startsWith('prebuild:')).join('\n'));
  const out = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], {
    cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * MiB,
  });
  packInfo = JSON.parse(out)[0];
  tarball = path.join(work, packInfo.filename);
}, 20 * 60 * 1000);

afterAll(() => {
  if (certs) certs.cleanup();
  fs.rmSync(work, { recursive: true, force: true });
});

test('the tarball holds the library, typings, README, LICENSE and both prebuilds — no tests, build dirs or caches', () => {
  const files = packInfo.files.map((f) => f.path);
  for (const required of ['package.json', 'README.md', 'LICENSE', 'binding.d.ts', 'lib/index.js', 'lib/index.mjs',
    'lib/load-native.js', 'prebuilds/manifest.json', 'prebuilds/linux-x64/resilient_ws.napi.glibc.node',
    'prebuilds/linux-arm64/resilient_ws.napi.glibc.node', 'CMakeLists.txt', 'scripts/build.js']) {
    expect(files).toContain(required);
  }
  const forbidden = files.filter((f) => /^(test|bench|build[^/]*|examples|docs|node_modules|\.ci|\.cache)\//.test(f) ||
    f.startsWith('native/tests/') || /\.(log|tgz|o|a)$/.test(f) || f.includes('/.'));
  expect(forbidden).toEqual([]);
  const pkg = JSON.parse(execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' }));
  for (const hook of ['preinstall', 'install', 'postinstall']) expect(pkg.scripts[hook]).toBeUndefined();
  expect(pkg.dependencies || {}).toEqual({});
  console.log(`tarball: ${packInfo.filename} ${(packInfo.size / MiB).toFixed(2)} MiB packed, ` +
    `${(packInfo.unpackedSize / MiB).toFixed(2)} MiB unpacked, ${packInfo.entryCount} files`);
});

test('the prebuilds in the tarball were built from these sources (prebuilds/manifest.json)', () => {
  const manifest = JSON.parse(execFileSync('tar', ['-xzOf', tarball, 'package/prebuilds/manifest.json'], { encoding: 'utf8' }));
  if (manifest.sourceHash !== sourceHash()) throw new Error('prebuilds are stale: run npm run prebuild');
  expect(manifest.glibcBaseline).toBe(GLIBC_BASELINE);
});

test('npm install of the tarball alone: offline, empty cache, no toolchain on PATH, no install script, nothing compiled', () => {
  fs.mkdirSync(project, { recursive: true });
  fs.writeFileSync(path.join(project, 'package.json'), '{ "name": "empty-project", "private": true }\n');
  const npmCli = path.join(path.dirname(fs.realpathSync(execFileSync('which', ['npm'], { encoding: 'utf8' }).trim())), 'npm-cli.js');
  // No cc, c++, g++, cmake or make is reachable: PATH holds node alone.
  for (const tool of ['cc', 'c++', 'g++', 'cmake', 'make']) {
    expect(spawnSync('sh', ['-c', `command -v ${tool}`], { env: bareEnv() }).status).not.toBe(0);
  }
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [npmCli, 'install', tarball, '--offline', '--no-audit', '--no-fund',
    '--cache', path.join(work, 'npm-cache'), '--foreground-scripts'], {
    cwd: project, env: bareEnv(), encoding: 'utf8',
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.status !== 0) throw new Error(`npm install failed:\n${r.stdout}\n${r.stderr}`);
  expect(`${r.stdout}${r.stderr}`).not.toMatch(/allowScripts|install script|cmake|gyp/i);
  expect(fs.existsSync(path.join(installed, 'build'))).toBe(false); // nothing was compiled

  const packages = fs.readdirSync(path.join(project, 'node_modules')).filter((d) => !d.startsWith('.'));
  const bytes = walk(path.join(project, 'node_modules')).reduce((sum, f) => sum + f.size, 0);
  console.log(`install: ${seconds.toFixed(2)} s, node_modules ${(bytes / MiB).toFixed(2)} MiB, ` +
    `${packages.length - 1} dependencies (${packages.join(', ')})`);
  expect(packages).toEqual(['resilient-ws']);
  expect(bytes).toBeLessThan(5 * MiB);
}, 120000);

test('require() loads the prebuilt binary (not a source build)', () => {
  const script = `require('resilient-ws');
    console.log(JSON.stringify(require(${JSON.stringify(path.join(installed, 'lib', 'load-native.js'))}).loadedAddon()));`;
  const out = execFileSync(process.execPath, ['-e', script], { cwd: project, env: bareEnv(), encoding: 'utf8' });
  const loaded = JSON.parse(out.trim());
  expect(loaded.label).toBe('prebuilt');
  expect(loaded.file).toBe(path.join(installed, 'prebuilds', `linux-${process.arch}`, 'resilient_ws.napi.glibc.node'));
});

describe.each(['x64', 'arm64'])('the linux-%s prebuild meets the glibc baseline', (arch) => {
  test(`no DT_NEEDED outside glibc, nothing newer than GLIBC_${GLIBC_BASELINE}, no libstdc++`, () => {
    const file = path.join(installed, 'prebuilds', `linux-${arch}`, 'resilient_ws.napi.glibc.node');
    const audit = auditElf(file, arch);
    console.log(`linux-${arch}: ${(fs.statSync(file).size / MiB).toFixed(2)} MiB, highest GLIBC_${audit.glibc}, ` +
      `GLIBCXX ${audit.glibcxx || 'none'}, DT_NEEDED ${audit.needed.join(' ')}`);
    expect(auditProblems(audit)).toEqual([]);
    for (const lib of ['libssl', 'libcrypto', 'libz', 'libstdc++', 'libgcc_s']) {
      expect(audit.needed.filter((n) => n.startsWith(lib))).toEqual([]);
    }
    // Everything but the Node-API registration is hidden: the addon's libc++ never interposes.
    expect(audit.exported).toEqual(['napi_register_module_v1', 'node_api_module_get_api_version_v1']);
  });
});

/**
 * Runs the smoke suite against the installed package with one node binary.
 * @param {{ arch: string, node: string, version?: string }} entry
 * @param {number} stepMs
 * @returns {Promise<string>} its output
 */
function smoke(entry, stepMs) {
  const [cmd, args] = nodeCommand(entry, [path.join(__dirname, 'smoke.js')]);
  const env = bareEnv({
    RWS_SMOKE_PROJECT: project,
    RWS_SMOKE_CERTS: certs.dir,
    RWS_SMOKE_STEP_MS: String(stepMs),
    NODE_EXTRA_CA_CERTS: certs.ca.certPath,
    // ws (pure JS) for the smoke suite's servers comes from the repo, not from the project.
    NODE_PATH: path.join(REPO, 'node_modules'),
    PATH: `${nodeOnlyPath()}:/usr/bin:/bin`, // openssl CLI is not needed; qemu lives in /usr/bin
  });
  return new Promise((resolve, reject) => {
    const started = Date.now();
    execFile(cmd, args, { cwd: project, env, timeout: stepMs * 12, maxBuffer: 16 * MiB }, (err, stdout, stderr) => {
      const took = ((Date.now() - started) / 1000).toFixed(1);
      const label = `node ${entry.version || process.version} linux-${entry.arch}`;
      if (err) reject(new Error(`smoke failed on ${label} (${took} s):\n${stdout}\n${stderr}`));
      else resolve(`${label}: ${stdout.trim().split('\n').pop()} (${took} s with start-up)`);
    });
  });
}

describe('smoke suite against the installed package', () => {
  let skip = null;
  beforeAll(async () => {
    if (!(await opensslAvailable())) skip = 'the openssl CLI is needed for the wss certificates (apt-get install openssl)';
    else certs = await makeCerts(path.join(work, 'certs'));
  }, 60000);

  test('on this Node', async () => {
    if (skip) return console.log(`SKIP: ${skip}`);
    console.log(await smoke({ arch: process.arch, node: process.execPath }, 20000));
  }, 300000);

  test('on every supported Node major (x64), and on arm64 under qemu-user', async () => {
    if (skip) return console.log(`SKIP: ${skip}`);
    const started = Date.now();
    const matrix = nodeMatrix(); // installs missing official binaries from npm into the cache
    const runner = arm64Runner();
    if ('missing' in runner) console.log(`SKIP arm64: ${runner.missing}`);
    const lines = [];
    const failures = [];
    for (const entry of matrix) {
      try {
        // qemu-user runs arm64 node roughly 10x slower: longer deadlines per step.
        lines.push(await smoke(entry, entry.arch === 'arm64' ? 120000 : 20000));
      } catch (err) {
        failures.push(err.message);
      }
    }
    console.log(`${lines.join('\n')}\nnode matrix: ${matrix.length} binaries in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    expect(failures).toEqual([]);
    expect(matrix.filter((e) => e.arch === 'x64').map((e) => e.major)).toEqual([18, 20, 22, 24]);
  }, 30 * 60 * 1000);
});

// Last: it adds build/ to the installed package. The fallback for platforms without a prebuilt
// binary, run where it can be checked: the tarball's own sources, the build tools fetched on
// demand (cmake-js, node-addon-api from npm into build/tools), the loader then preferring it.
test('the source-build fallback works from the installed package (node scripts/build.js)', () => {
  const missing = ['cmake', 'c++'].filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
  if (missing.length) return console.log(`SKIP: source build needs ${missing.join(', ')}`);
  const started = Date.now();
  const r = spawnSync(process.execPath, [path.join(installed, 'scripts', 'build.js')], {
    cwd: project,
    encoding: 'utf8',
    maxBuffer: 64 * MiB,
    // The temp directory changes every run; relative to the package, ccache still hits.
    env: { ...process.env, CCACHE_BASEDIR: installed, CMAKE_BUILD_PARALLEL_LEVEL: '2' },
  });
  if (r.status !== 0) throw new Error(`source build failed:\n${r.stdout.slice(-4000)}\n${r.stderr.slice(-4000)}`);
  expect(r.stdout).toContain('fetching the build tools');
  console.log(`source build from the installed package: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const script = `require('resilient-ws');
    console.log(JSON.stringify(require(${JSON.stringify(path.join(installed, 'lib', 'load-native.js'))}).loadedAddon()));`;
  const loaded = JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: project, encoding: 'utf8' }).trim());
  expect(loaded).toEqual({ label: 'source build', file: path.join(installed, 'build', 'Release', 'resilient_ws.node') });
}, 15 * 60 * 1000);
