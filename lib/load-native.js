'use strict';
// Finds the native addon at `require` time; there is no install script. In order:
//   1. RESILIENT_WS_NATIVE=<file.node>  an explicit override (only that file is tried);
//   2. build/Release/resilient_ws.node  a source build (a developer checkout, or a user who ran
//                                       scripts/build.js on a platform without a prebuilt binary);
//   3. prebuilds/<platform>-<arch>/resilient_ws.napi.<libc>.node  shipped in the package.
// When none loads, one Error says what this platform is, what was tried and why each failed,
// and the exact command that builds from source.
const fs = require('fs');
const path = require('path');

const ADDON = 'resilient_ws';
/** The newest glibc the prebuilt binaries may need (scripts/elf-audit.js checks it). */
const GLIBC_BASELINE = '2.28';

/**
 * The C library of this process: glibc or musl, as detect-libc decides it. Cheap in the common
 * case (a directory listing); process.report (~50 ms) only settles the rare doubt, or gives the
 * glibc version for an error message.
 * @param {{ precise?: boolean }} [opts] precise: always ask process.report (version included)
 * @returns {{ family: 'glibc'|'musl'|null, version: string|null }}
 */
function detectLibc(opts = {}) {
  if (process.platform !== 'linux') return { family: null, version: null };
  let muslLoader = false;
  try {
    muslLoader = fs.readdirSync('/lib').some((f) => f.startsWith('ld-musl-'));
  } catch {
    // no /lib: decided by process.report below
  }
  if (!muslLoader && !opts.precise) return { family: 'glibc', version: null };
  try {
    const report = process.report.getReport();
    if (report.header.glibcVersionRuntime) return { family: 'glibc', version: report.header.glibcVersionRuntime };
    return { family: 'musl', version: null };
  } catch {
    return { family: muslLoader ? 'musl' : null, version: null };
  }
}

/**
 * @param {string} a
 * @param {string} b
 * @returns {boolean} a < b, comparing dotted numeric versions
 */
function versionLess(a, b) {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    if ((pa[i] || 0) !== (pb[i] || 0)) return (pa[i] || 0) < (pb[i] || 0);
  }
  return false;
}

/**
 * A human name for this platform, e.g. "linux-x64 (glibc 2.36)".
 * @param {{ family: string|null, version: string|null }} libc
 * @returns {string}
 */
function platformName(libc) {
  const base = `${process.platform}-${process.arch}`;
  if (libc.family === 'musl') return `${base}-musl`;
  if (libc.family === 'glibc') return `${base} (glibc${libc.version ? ` ${libc.version}` : ''})`;
  return base;
}

/**
 * The candidate files, in order, each with a reason to skip it without trying (or null).
 * @param {string} root the package directory
 * @param {NodeJS.ProcessEnv} env
 * @param {{ family: string|null, version: string|null }} libc
 * @returns {Array<{ label: string, file: string, skip: string|null, explicit?: boolean }>}
 */
function candidates(root, env, libc) {
  if (env.RESILIENT_WS_NATIVE) {
    return [{ label: 'RESILIENT_WS_NATIVE', file: path.resolve(env.RESILIENT_WS_NATIVE), skip: null, explicit: true }];
  }
  const list = [
    { label: 'source build', file: path.join(root, 'build', 'Release', `${ADDON}.node`), skip: null },
  ];
  const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  if (libc.family === 'musl') {
    list.push({ label: 'prebuilt', file: dir, skip: `no prebuilt binary for ${process.platform}-${process.arch}-musl` });
  } else if (libc.family === 'glibc' && libc.version && versionLess(libc.version, GLIBC_BASELINE)) {
    list.push({
      label: 'prebuilt',
      file: path.join(dir, `${ADDON}.napi.glibc.node`),
      skip: `the prebuilt binary needs glibc >= ${GLIBC_BASELINE}, this system has ${libc.version}`,
    });
  } else {
    list.push({ label: 'prebuilt', file: path.join(dir, `${ADDON}.napi.glibc.node`), skip: null });
  }
  return list;
}

/** ELF e_machine values of the architectures Node runs on. */
const ELF_MACHINES = { 0x03: 'ia32', 0x28: 'arm', 0x3e: 'x64', 0xb7: 'arm64', 0x14: 'ppc', 0x15: 'ppc64', 0x16: 's390x', 0xf3: 'riscv64' };

/**
 * What a binary that failed to load is, when that explains the failure.
 * @param {string} file
 * @returns {string|null}
 */
function inspectBinary(file) {
  let header;
  try {
    const fd = fs.openSync(file, 'r');
    header = Buffer.alloc(20);
    const n = fs.readSync(fd, header, 0, 20, 0);
    fs.closeSync(fd);
    header = header.subarray(0, n);
  } catch {
    return null;
  }
  if (process.platform !== 'linux') return null;
  if (header.length < 20 || header.readUInt32BE(0) !== 0x7f454c46) {
    return 'not an ELF file: a corrupt or truncated copy; reinstall the package';
  }
  const machine = ELF_MACHINES[header.readUInt16LE(18)] || `machine 0x${header.readUInt16LE(18).toString(16)}`;
  if (machine !== process.arch) return `it is built for ${machine}, this process is ${process.arch}`;
  return null;
}

/**
 * @param {string} file
 * @returns {string} relative to the working directory when below it, else absolute
 */
function displayPath(file) {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

let loaded = null;

/**
 * Which file the last successful loadNative() loaded (for diagnostics and the packaging test).
 * @returns {{ label: string, file: string } | null}
 */
function loadedAddon() {
  return loaded;
}

/**
 * Loads the addon, or throws one Error (code ERR_ADDON_NOT_FOUND / ERR_ADDON_LOAD) that says
 * everything needed to fix it. Never crashes the process on a corrupt or foreign binary: dlopen
 * reports those as ordinary errors.
 * @param {{ root?: string, env?: NodeJS.ProcessEnv, load?: (file: string) => any, preciseLibc?: boolean }} [opts]
 * @returns {{ attach: Function, socketMethods: object }}
 */
function loadNative(opts = {}) {
  const root = opts.root || path.join(__dirname, '..');
  const env = opts.env || process.env;
  const load = opts.load || ((file) => require(file));
  const libc = detectLibc({ precise: Boolean(opts.preciseLibc) });
  const tried = [];
  let loadError = null;
  for (const c of candidates(root, env, libc)) {
    const shown = displayPath(c.file);
    if (c.skip) {
      tried.push(`${c.label}: ${c.skip}`);
      continue;
    }
    if (!fs.existsSync(c.file)) {
      tried.push(`${c.label} ${shown}: not found`);
      continue;
    }
    try {
      const addon = load(c.file);
      if (!addon || typeof addon.attach !== 'function') throw new Error('it does not export attach');
      loaded = { label: c.label, file: c.file };
      return addon;
    } catch (err) {
      loadError = loadError || err;
      // dlopen's messages start with the path again, and for a foreign architecture glibc says
      // "No such file or directory": say what the file actually is.
      const reason = String(err && err.message).split('\n')[0].replace(`${c.file}: `, '');
      const what = inspectBinary(c.file);
      tried.push(`${c.label} ${shown}: ${reason}${what ? ` (${what})` : ''}`);
    }
  }
  const described = libc.family === 'glibc' && !libc.version ? detectLibc({ precise: true }) : libc;
  const buildScript = displayPath(path.join(root, 'scripts', 'build.js'));
  const napi = process.versions.napi ? `Node-API ${process.versions.napi}` : 'no Node-API version';
  const err = new Error(
    `resilient-ws: no usable native addon for ${platformName(described)}, Node ${process.version} (${napi}).\n` +
      `  tried:\n${tried.map((t) => `    - ${t}`).join('\n')}\n` +
      `  build from source: node ${buildScript}\n` +
      '  (needs cmake, a C++20 compiler, Boost >= 1.81, OpenSSL 3 and zlib headers; see the README, ' +
      '"Building from source")',
  );
  err.code = loadError ? 'ERR_ADDON_LOAD' : 'ERR_ADDON_NOT_FOUND';
  if (loadError) err.cause = loadError;
  err.tried = tried;
  throw err;
}

module.exports = { loadNative, loadedAddon, detectLibc, candidates, GLIBC_BASELINE };
