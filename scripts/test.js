'use strict';
// `npm test`: the C++ unit tests of the core (GoogleTest via ctest), the TypeScript
// compile-only check of binding.d.ts, the Jest suites against real servers, then the packaging
// suites (test/packaging).
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
  run('build C++ tests', 'cmake', ['--build', 'build-tests', '--parallel', jobs, '--target', 'rws_core_tests']);
  run('C++ unit tests', 'ctest', ['--test-dir', 'build-tests', '--output-on-failure', '--parallel', jobs]);
}
run('build addon (if needed)', process.execPath, ['scripts/build.js', '--if-needed']);
run('TypeScript types', process.execPath, [require.resolve('typescript/bin/tsc', { paths: [root] }), '-p', 'test/types']);
const jest = require.resolve('jest/bin/jest', { paths: [root] });
if (jestArgs.length) {
  run('Jest', process.execPath, [jest, ...jestArgs]); // the caller chose what to run
} else {
  run('Jest', process.execPath, [jest, '--testPathIgnorePatterns', '/test/packaging/']);
  // Last and alone: the package as users get it (npm run prebuild if prebuilds/ is stale, npm
  // pack, install with no toolchain, the smoke suite on Node 18/20/22/24 and on arm64 under
  // qemu), so the cross-compiler never competes with the timing-sensitive suites for the cores.
  run('Packaging', process.execPath, [jest, '--maxWorkers=1', 'test/packaging/']);
}
