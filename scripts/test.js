'use strict';
// `npm test`: the C++ unit tests of the core (GoogleTest via ctest), the TypeScript
// compile-only check of binding.d.ts, then the Jest suites against real servers.
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
run('Jest', process.execPath, [require.resolve('jest/bin/jest', { paths: [root] }), ...jestArgs]);
