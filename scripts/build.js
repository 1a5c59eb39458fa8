'use strict';
// Builds the native addon with cmake-js (Node-API mode: no header download). Used by
// `npm install` and `npm run build`; `--if-needed` skips the build when the addon exists.
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.join(__dirname, '..');
const addon = path.join(root, 'build', 'Release', 'resilient_ws.node');
if (process.argv.includes('--if-needed') && fs.existsSync(addon)) process.exit(0);

const cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [root] });
const jobs = String(Math.max(1, os.availableParallelism ? os.availableParallelism() : os.cpus().length));
const env = { ...process.env, CMAKE_BUILD_PARALLEL_LEVEL: jobs };
// npm's `nodedir` setting would point cmake-js at /usr/include/node, whose OpenSSL headers
// clash with the system's; Node-API needs no Node headers at all.
delete env.npm_config_nodedir;
delete env.NPM_CONFIG_NODEDIR;
const result = spawnSync(process.execPath, [cmakeJs, 'compile', '--directory', root, '--config', 'Release'], {
  stdio: 'inherit',
  env,
});
if (result.status !== 0) {
  console.error('resilient-ws: native build failed (needs cmake, g++, libboost1.81-dev, libssl-dev, zlib1g-dev).');
  process.exit(result.status || 1);
}
