'use strict';

/**
 * The idle-connections target: kept for its old command line; the measurement now lives in
 * bench/run.js (scenario `idle-5000`, client in a process of its own: bench/idle-client.js),
 * so `npm run bench` covers it and this is the same as `node bench/run.js --only=idle-5000`.
 */

const { spawnSync } = require('child_process');
const path = require('path');

const extra = process.argv.slice(2).filter((a) => a === '--quick' || a.startsWith('--rounds='));
const r = spawnSync(process.execPath, [path.join(__dirname, 'run.js'), '--only=idle-5000', ...extra], { stdio: 'inherit' });
process.exit(r.status === null ? 1 : r.status);
