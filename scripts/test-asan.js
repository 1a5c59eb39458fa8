'use strict';
// `npm run test:asan [-- <jest args>]`: the core under AddressSanitizer + UBSan, built once with
// -DRWS_SANITIZE=ON in build-asan/ (cmake-js, g++):
//   1. the C++ units (GoogleTest), with leak detection;
//   2. the Jest suites against the sanitized addon (lib/native.js loads it via
//      RESILIENT_WS_NATIVE).
// `--units` or `--jest` runs only that part. Any sanitizer report fails the run: UBSan aborts on
// the first finding (-fno-sanitize-recover=all), ASan aborts and also writes its report to
// build-asan/sanitizer-logs/ (so a report from a child process whose output a test does not
// show still fails the run), and the Jest output is scanned for reports.
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const jobs = '2';
const addon = path.join(root, 'build-asan', 'Release', 'resilient_ws.node');
const logDir = path.join(root, 'build-asan', 'sanitizer-logs');

// Jest suites that cannot work under ASan, as [path regex, one-line reason] (the procps
// deadlock is handled by uninstrumentedTools()).
const excluded = [
  ['/test/packaging/', 'the packaging suites test the prebuilt binaries as users get them, not this build'],
  ['/test/resilience/memory-bound.test.js', 'asserts an RSS ceiling; ASan\'s shadow memory and quarantine move RSS by design'],
];
// Single tests that cannot work under ASan, as [test name, one-line reason]; the rest of their
// file runs. Skipped only when no -t / --testNamePattern is given.
// None at present.
const excludedTests = [];

function run(what, cmd, args, opts = {}) {
  console.log(`\n== ${what}: ${cmd} ${args.join(' ')}`);
  const started = Date.now();
  const result = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
  console.log(`== ${what}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (result.status !== 0) {
    console.error(`== ${what} failed (exit ${result.status ?? result.signal})`);
    process.exit(result.status || 1);
  }
}

// One sanitized build for both parts: the addon and the units share every core library, so
// Asio, Beast and the layers are compiled once (cmake-js, g++, build-asan/).
let built = false;
function buildSanitized() {
  if (built) return;
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [root] });
  const env = { ...process.env, CMAKE_BUILD_PARALLEL_LEVEL: jobs };
  delete env.npm_config_nodedir;  // see scripts/build.js
  delete env.NPM_CONFIG_NODEDIR;
  run('build the ASan+UBSan addon and C++ units', process.execPath, [cmakeJs, 'compile', '--directory', root,
    '--out', 'build-asan', '--config', 'Release', '--CDRWS_SANITIZE=ON', '--CDRWS_BUILD_TESTS=ON'], { env });
  built = true;
}

function units() {
  buildSanitized();
  run('C++ unit tests under ASan+UBSan', 'ctest', ['--test-dir', 'build-asan', '--output-on-failure', '--parallel', jobs], {
    env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=1', UBSAN_OPTIONS: 'print_stacktrace=1' },
  });
}

function libasan() {
  const r = spawnSync('g++', ['-print-file-name=libasan.so'], { encoding: 'utf8' });
  const file = (r.stdout || '').trim();
  if (r.status !== 0 || !path.isAbsolute(file) || !fs.existsSync(file)) {
    console.error('test:asan: cannot find libasan.so via `g++ -print-file-name=libasan.so` (install g++)');
    process.exit(2);
  }
  return file;
}

// Every child of the test processes inherits LD_PRELOAD. Most tools do not mind, but procps
// (pgrep, used by test/nginx to check for leftover nginx processes; ps, pkill) deadlocks in its
// startup with the ASan runtime preloaded. They are not under test: wrappers first on PATH run
// them without it.
function uninstrumentedTools() {
  const dir = path.join(root, 'build-asan', 'uninstrumented-bin');
  fs.mkdirSync(dir, { recursive: true });
  for (const tool of ['pgrep', 'pkill', 'ps']) {
    const real = ['/usr/bin', '/bin'].map((d) => path.join(d, tool)).find((f) => fs.existsSync(f));
    if (!real) continue;
    fs.writeFileSync(path.join(dir, tool), `#!/bin/sh\nunset LD_PRELOAD\nexec ${real} "$@"\n`, { mode: 0o755 });
  }
  return dir;
}

function jest(jestArgs) {
  buildSanitized();
  fs.rmSync(logDir, { recursive: true, force: true });
  fs.mkdirSync(logDir, { recursive: true });
  const env = {
    ...process.env,
    PATH: `${uninstrumentedTools()}${path.delimiter}${process.env.PATH}`,
    RESILIENT_WS_NATIVE: addon,
    // node itself is not instrumented: the ASan runtime must be loaded first.
    LD_PRELOAD: libasan(),
    // detect_leaks=0: V8 and node leave allocations at exit by design, so LeakSanitizer would
    // report every run; the units above run with leak detection on. verify_asan_link_order=0:
    // the runtime is preloaded, not linked into node.
    ASAN_OPTIONS: `detect_leaks=0:verify_asan_link_order=0:abort_on_error=1:log_path=${path.join(logDir, 'asan')}`,
    UBSAN_OPTIONS: 'print_stacktrace=1',
  };
  const ignore = excluded.map(([re]) => re);
  for (const [re, reason] of excluded) console.log(`test:asan: skipping ${re}: ${reason}`);
  const nameFilter = [];
  if (excludedTests.length && !jestArgs.some((a) => a === '-t' || a.startsWith('--testNamePattern'))) {
    for (const [name, reason] of excludedTests) console.log(`test:asan: skipping test "${name}": ${reason}`);
    const escape = (t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    nameFilter.push('--testNamePattern', `^(?!.*(?:${excludedTests.map(([n]) => escape(n)).join('|')}))`);
  }
  // --testPathIgnorePatterns takes a list: the flag after it ends the list, so that the
  // caller's test paths (or anything after a `--`) are not taken as patterns to ignore.
  const args = [require.resolve('jest/bin/jest', { paths: [root] }),
    ...(ignore.length ? ['--testPathIgnorePatterns', ...ignore] : []), ...nameFilter, '--ci', ...jestArgs];
  console.log(`\n== Jest under ASan+UBSan: ${args.slice(1).join(' ')}`);
  const started = Date.now();
  const result = spawnSync(process.execPath, args, { cwd: root, env, stdio: ['inherit', 'inherit', 'pipe'], maxBuffer: 256 << 20 });
  const stderr = result.stderr ? result.stderr.toString() : '';
  process.stderr.write(stderr);
  console.log(`== Jest under ASan+UBSan: ${((Date.now() - started) / 1000).toFixed(1)} s`);

  const reports = fs.readdirSync(logDir).map((f) => path.join(logDir, f));
  const inOutput = /runtime error:|ERROR: AddressSanitizer|ERROR: LeakSanitizer/.test(stderr);
  for (const f of reports) {
    console.error(`\n== sanitizer report ${path.relative(root, f)}:\n${fs.readFileSync(f, 'utf8')}`);
  }
  if (reports.length || inOutput) {
    console.error(`test:asan: sanitizer findings (${reports.length} report files${inOutput ? ', reports in the Jest output' : ''})`);
    process.exit(1);
  }
  if (result.status !== 0) {
    console.error(`== Jest under ASan+UBSan failed (exit ${result.status ?? result.signal})`);
    process.exit(result.status || 1);
  }
}

const argv = process.argv.slice(2);
const onlyUnits = argv.includes('--units');
const onlyJest = argv.includes('--jest');
const jestArgs = argv.filter((a) => a !== '--units' && a !== '--jest');
if (!onlyJest) units();
if (!onlyUnits) jest(jestArgs);
