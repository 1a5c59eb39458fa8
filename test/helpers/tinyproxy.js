'use strict';

// A real HTTP proxy for the proxy tests: Debian's tinyproxy, started in the foreground on a free
// loopback port with its own config, log and (optionally) Basic credentials. stop() kills it
// and removes its files. tinyproxy allows CONNECT to any port when the config lists none.

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn, spawnSync } = require('child_process');
const { waitFor } = require('./deadline');
const { freePort, accepts } = require('./ports');

/** One line saying why tinyproxy tests cannot run here, or null. */
function tinyproxyUnavailable() {
  const r = spawnSync('tinyproxy', ['-v'], { encoding: 'utf8' });
  if (r.error) return 'tinyproxy is not installed (apt-get install tinyproxy)';
  return null;
}


/**
 * @param {{user?: string, password?: string}} [opts] Basic credentials the proxy demands
 * @returns {Promise<{port: number, url: string, log: () => string, connects: () => string[], stop: () => Promise<void>}>}
 */
async function startTinyproxy(opts = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rws-tinyproxy-'));
  fs.chmodSync(dir, 0o777); // tinyproxy may drop privileges to nobody before opening its log
  const port = await freePort();
  const logFile = path.join(dir, 'tinyproxy.log');
  const lines = [
    `Port ${port}`,
    'Listen 127.0.0.1',
    'Allow 127.0.0.1',
    'Timeout 60',
    `LogFile "${logFile}"`,
    'LogLevel Connect',
    'MaxClients 50',
    'DisableViaHeader Yes',
  ];
  if (os.userInfo().uid === 0) lines.push('User nobody', 'Group nogroup');
  if (opts.user) lines.push(`BasicAuth ${opts.user} ${opts.password}`);
  fs.writeFileSync(path.join(dir, 'tinyproxy.conf'), `${lines.join('\n')}\n`);
  const child = spawn('tinyproxy', ['-d', '-c', path.join(dir, 'tinyproxy.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const read = () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '');
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`tinyproxy exited: ${stderr}`);
    return accepts(port);
  }, 5000, 'tinyproxy listening');
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    log: read,
    /** The CONNECT targets tinyproxy logged, in order. */
    connects: () => [...read().matchAll(/Established connection to host "([^"]+)" using file descriptor/g)].map((m) => m[1]),
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

module.exports = { startTinyproxy, tinyproxyUnavailable };
