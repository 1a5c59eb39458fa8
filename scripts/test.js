'use strict';
// `npm test`: the C++ unit tests of the core (GoogleTest via ctest), the JSON.parse differential,
// the C++ units again under ASan+UBSan, the TypeScript compile-only check of binding.d.ts, the
// Jest suites against real servers, again under ASan+UBSan, a short run of every fuzzer, then the
// packaging suites (test/packaging).
const { spawnSync } = require('child_process');
const path = require('path');

const root = path.join(__dirname, '..');
const jobs = '2';

function run(what, cmd, args, opts = {}) {
  console.log(`\n== ${what}: ${cmd} ${args.join(' ')}`);
  const result = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
  if (result.status !== 0) {
    console.error(`== ${what} failed (exit ${result.status ?? result.signal})`);
    process.exit(result.status || 1);
  }
}

const jestArgs = process.argv.slice(2);
if (!process.env.RWS_SKIP_NATIVE_TESTS) {
  run('configure C++ tests', 'cmake', ['-S', '.', '-B', 'build-tests', '-DRWS_BUILD_TESTS=ON', '-DRWS_BUILD_ADDON=OFF',
    '-DCMAKE_BUILD_TYPE=Release']);
  run('build C++ tests', 'cmake', ['--build', 'build-tests', '--parallel', jobs, '--target', 'rws_core_tests',
    'rws_json_field_print']);
  run('C++ unit tests', 'ctest', ['--test-dir', 'build-tests', '--output-on-failure', '--parallel', jobs]);
  run('JSON field extraction vs JSON.parse', process.execPath, ['scripts/json-differential.js']);
}
// Sanitizers and fuzzing (native/fuzz/README.md). RWS_SKIP_SANITIZERS / RWS_SKIP_FUZZ skip a part
// locally; CI runs all of it.
if (!process.env.RWS_SKIP_NATIVE_TESTS && !process.env.RWS_SKIP_SANITIZERS) {
  run('C++ unit tests under ASan+UBSan', process.execPath, ['scripts/test-asan.js', '--units']);
}
run('build addon (if needed)', process.execPath, ['scripts/build.js', '--if-needed']);
run('TypeScript types', process.execPath, [require.resolve('typescript/bin/tsc', { paths: [root] }), '-p', 'test/types']);
const jest = require.resolve('jest/bin/jest', { paths: [root] });
if (jestArgs.length) {
  run('Jest', process.execPath, [jest, ...jestArgs]); // the caller chose what to run
} else {
  run('Jest', process.execPath, [jest, '--testPathIgnorePatterns', '/test/packaging/']);
}
// ~65 s for the whole suite (plus a one-time build of build-asan), so it runs every time, not
// only in CI.
if (!process.env.RWS_SKIP_SANITIZERS) {
  run('Jest under ASan+UBSan', process.execPath, ['scripts/test-asan.js', '--jest', ...jestArgs]);
}
if (!process.env.RWS_SKIP_NATIVE_TESTS && !process.env.RWS_SKIP_FUZZ) {
  run('fuzzers (20 s each)', process.execPath, ['scripts/fuzz.js', '--ci']);
}
if (!jestArgs.length) {
  // Last and alone: the package as users get it (npm run prebuild if prebuilds/ is stale, npm
  // pack, install with no toolchain, the smoke suite on Node 18/20/22/24 and on arm64 under
  // qemu), so the cross-compiler never competes with the timing-sensitive suites for the cores.
  run('Packaging', process.execPath, [jest, '--maxWorkers=1', 'test/packaging/']);
}
