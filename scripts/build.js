'use strict';
// Builds the native addon from source with cmake-js (Node-API mode: no Node headers download)
// into build/Release/, where lib/load-native.js looks first.
//
//   - in the repo checkout: `npm run build:addon`; `npm run demo`, `npm run bench` and `npm test`
//     run it with --if-needed. (Not a `prepare` script: npm 11 counts `prepare` as an install
//     script of the published package and warns about it on every user's install.)
//   - in an installed package, on a platform without a prebuilt binary:
//       node node_modules/resilient-ws/scripts/build.js
//     cmake-js and node-addon-api are not installed with the package (users of the prebuilt
//     binaries need no build tool), so this fetches them into build/tools/ first.
// `--if-needed` skips the build when build/Release/resilient_ws.node exists.
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.join(__dirname, '..');
const addon = path.join(root, 'build', 'Release', 'resilient_ws.node');
const NEEDS = 'cmake, a C++20 compiler, Boost >= 1.81 headers, OpenSSL 3 and zlib headers ' +
  '(Debian/Ubuntu: apt-get install cmake g++ libboost1.81-dev libssl-dev zlib1g-dev; see the README, "Building from source")';
if (process.argv.includes('--if-needed') && fs.existsSync(addon)) process.exit(0);

/**
 * cmake-js from the checkout's devDependencies, or else from build/tools (installed on demand).
 * @returns {{ cmakeJs: string, nodePath: string|null }}
 */
function locateCmakeJs() {
  try {
    return { cmakeJs: require.resolve('cmake-js/bin/cmake-js', { paths: [root] }), nodePath: null };
  } catch {
    // an installed package: fetch the build tools below
  }
  const tools = path.join(root, 'build', 'tools');
  const modules = path.join(tools, 'node_modules');
  const local = path.join(modules, 'cmake-js', 'bin', 'cmake-js');
  if (!fs.existsSync(local) || !fs.existsSync(path.join(modules, 'node-addon-api'))) {
    fs.mkdirSync(tools, { recursive: true });
    fs.writeFileSync(path.join(tools, 'package.json'), '{ "private": true }\n');
    const pkg = require(path.join(root, 'package.json'));
    const want = ['cmake-js', 'node-addon-api'].map((n) => `${n}@${(pkg.devDependencies || {})[n] || 'latest'}`);
    console.log(`resilient-ws: fetching the build tools into ${path.relative(process.cwd(), tools) || tools}: ${want.join(' ')}`);
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const r = spawnSync(npm, ['install', '--prefix', tools, '--no-save', '--no-audit', '--no-fund', ...want],
      { stdio: 'inherit', shell: process.platform === 'win32' });
    if (r.status !== 0) {
      console.error('resilient-ws: could not install cmake-js and node-addon-api (npm install failed).');
      process.exit(r.status || 1);
    }
  }
  // cmake-js looks for node-addon-api from the package directory; NODE_PATH lets it find ours.
  return { cmakeJs: local, nodePath: modules };
}

const { cmakeJs, nodePath } = locateCmakeJs();
const jobs = String(Math.max(1, os.availableParallelism ? os.availableParallelism() : os.cpus().length));
const env = { ...process.env, CMAKE_BUILD_PARALLEL_LEVEL: process.env.CMAKE_BUILD_PARALLEL_LEVEL || jobs };
if (nodePath) env.NODE_PATH = [nodePath, env.NODE_PATH].filter(Boolean).join(path.delimiter);
// npm's `nodedir` setting would point cmake-js at /usr/include/node, whose OpenSSL headers
// clash with the system's; Node-API needs no Node headers at all.
delete env.npm_config_nodedir;
delete env.NPM_CONFIG_NODEDIR;
const result = spawnSync(process.execPath, [cmakeJs, 'compile', '--directory', root, '--config', 'Release'], {
  stdio: 'inherit',
  env,
});
if (result.status !== 0) {
  console.error(`resilient-ws: native build failed; it needs ${NEEDS}.`);
  process.exit(result.status || 1);
}
