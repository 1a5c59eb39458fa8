'use strict';
// What a shared object needs from the system it is loaded on, read the way auditwheel does:
// its DT_NEEDED list and the highest GLIBC_/GLIBCXX_/CXXABI_ symbol versions it requires
// (objdump -p "Version References").
const { execFileSync } = require('child_process');
const fs = require('fs');

/** The glibc every prebuilt binary may require at most: Node's own baseline (x64 and arm64). */
const GLIBC_BASELINE = '2.28';

/**
 * Libraries a prebuilt addon may depend on: glibc's own, present on every glibc system. Anything
 * else (libssl, libcrypto, libz, libstdc++, libgcc_s) may be missing or another version.
 */
const ALLOWED_NEEDED = ['libc.so.6', 'libm.so.6', 'libpthread.so.0', 'libdl.so.2', 'librt.so.1',
  'ld-linux-x86-64.so.2', 'ld-linux-aarch64.so.1'];

/** objdump that understands each machine (binutils' host objdump knows only its own). */
const OBJDUMP = { x64: ['x86_64-linux-gnu-objdump', 'objdump'], arm64: ['aarch64-linux-gnu-objdump'] };

/**
 * @param {string} a dotted version
 * @param {string} b dotted version
 * @returns {number} <0, 0, >0
 */
function compareVersions(a, b) {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] || 0) - (pb[i] || 0);
    if (d) return d;
  }
  return 0;
}

/**
 * @param {string} file path of an ELF shared object
 * @param {'x64'|'arm64'} arch
 * @returns {{ needed: string[], glibc: string|null, glibcxx: string|null, cxxabi: string|null }}
 */
function auditElf(file, arch) {
  const candidates = OBJDUMP[arch] || ['objdump'];
  let out;
  let lastErr;
  for (const tool of candidates) {
    try {
      out = execFileSync(tool, ['-p', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      break;
    } catch (err) {
      lastErr = err;
    }
  }
  let needed;
  if (out !== undefined) {
    needed = [...out.matchAll(/^\s*NEEDED\s+(\S+)/gm)].map((m) => m[1]);
  } else {
    // readelf reads every architecture: same facts, other layout.
    try {
      out = execFileSync('readelf', ['-d', '-V', '-W', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      throw new Error(`cannot read ${file} with ${candidates.join(', ')} or readelf (apt-get install binutils` +
        `${arch === 'arm64' ? '-aarch64-linux-gnu' : ''}): ${(lastErr || err).message}`);
    }
    needed = [...out.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
  }
  const highest = (prefix) => {
    const versions = [...out.matchAll(new RegExp(`\\b${prefix}_([0-9.]+)\\b`, 'g'))].map((m) => m[1]);
    return versions.sort(compareVersions).pop() || null;
  };
  return { needed, glibc: highest('GLIBC'), glibcxx: highest('GLIBCXX'), cxxabi: highest('CXXABI'), exported: exportedSymbols(file) };
}

/**
 * The symbols the object defines for others (readelf reads every architecture). For the addon
 * this must be the Node-API registration only: anything else (libc++, Asio) could interpose with
 * the same names in node or in another addon.
 * @param {string} file
 * @returns {string[]}
 */
function exportedSymbols(file) {
  const out = execFileSync('readelf', ['--dyn-syms', '-W', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const names = [];
  for (const line of out.split('\n')) {
    const f = line.trim().split(/\s+/);
    // Num: Value Size Type Bind Vis Ndx Name
    if (f.length >= 8 && /^\d+:$/.test(f[0]) && (f[4] === 'GLOBAL' || f[4] === 'WEAK') && f[6] !== 'UND') names.push(f[7]);
  }
  return names.sort();
}

/**
 * Everything wrong with a prebuilt binary (empty when it meets the baseline).
 * @param {ReturnType<typeof auditElf>} audit
 * @returns {string[]}
 */
function auditProblems(audit) {
  const problems = [];
  if (audit.glibc && compareVersions(audit.glibc, GLIBC_BASELINE) > 0) {
    problems.push(`needs GLIBC_${audit.glibc}, newer than the baseline ${GLIBC_BASELINE}`);
  }
  if (audit.glibcxx) problems.push(`needs the system libstdc++ (GLIBCXX_${audit.glibcxx})`);
  if (audit.cxxabi) problems.push(`needs the system libstdc++ (CXXABI_${audit.cxxabi})`);
  for (const lib of audit.needed) {
    if (!ALLOWED_NEEDED.includes(lib)) problems.push(`DT_NEEDED ${lib} (not part of glibc)`);
  }
  return problems;
}

module.exports = { GLIBC_BASELINE, ALLOWED_NEEDED, compareVersions, auditElf, auditProblems };

if (require.main === module) {
  const [file, arch = process.arch] = process.argv.slice(2);
  if (!file || !fs.existsSync(file)) {
    console.error('usage: node scripts/elf-audit.js <file.node> [x64|arm64]');
    process.exit(2);
  }
  const audit = auditElf(file, arch);
  console.log(JSON.stringify({ ...audit, problems: auditProblems(audit) }, null, 2));
}
