'use strict';

// A private network namespace for kernel-level fault tests: `ip netns add rws-<pid>-<n>`, a
// veth pair (host 10.213.<x>.1/30, namespace 10.213.<x>.2/30), a `ws` echo server running
// INSIDE the namespace, and iptables / ss run inside it to inject faults. Traffic stays on the
// veth pair. teardown() kills the server, deletes the namespace (and with it its iptables rules
// and the namespace end of the veth) and the host veth; it is safe to call more than once and
// after a partial setup.

const { spawn, spawnSync } = require('child_process');

/** Runs a command synchronously; returns {ok, status, out}. Never throws. */
function run(cmd, args, { timeout = 10000 } = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout });
  const out = `${r.stdout || ''}${r.stderr || ''}${r.error ? String(r.error.message) : ''}`.trim();
  return { ok: r.status === 0 && !r.error, status: r.status, out };
}

/** Runs a command and throws with its output when it fails. */
function must(cmd, args) {
  const r = run(cmd, args);
  if (!r.ok) throw new Error(`\`${cmd} ${args.join(' ')}\` failed (${r.status}): ${r.out}`);
  return r.out;
}

function hasCommand(name) {
  return run('sh', ['-c', `command -v ${name}`]).ok;
}

/**
 * Whether the kernel-fault suite can run here. Returns null when it can, else one line saying
 * why not (printed by the test file, which then skips every test).
 */
function unavailableReason() {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  for (const cmd of ['ip', 'iptables', 'ss']) {
    if (!hasCommand(cmd)) return `\`${cmd}\` is missing (install iproute2 / iptables)`;
  }
  const probe = `rws-probe-${process.pid}`;
  const r = run('ip', ['netns', 'add', probe]);
  if (!r.ok) return `\`ip netns add\` was refused (needs root / CAP_SYS_ADMIN): ${r.out}`;
  run('ip', ['netns', 'del', probe]);
  return null;
}

// Node source run inside the namespace: a ws echo server on 0.0.0.0:0 that prints its port.
const SERVER_SRC = `
const { WebSocketServer } = require(${JSON.stringify(require.resolve('ws'))});
const wss = new WebSocketServer({ host: '0.0.0.0', port: 0 });
wss.on('connection', (ws) => ws.on('message', (d, bin) => ws.send(d, { binary: bin })));
wss.on('listening', () => process.stdout.write('PORT ' + wss.address().port + '\\n'));
process.stdin.on('end', () => process.exit(0)); // the parent went away: do not linger
process.stdin.resume();
`;

/**
 * Creates the namespace, veth pair and server.
 *
 * @returns {Promise<{ns: string, hostIf: string, nsIf: string, hostIp: string, nsIp: string, port: number,
 *   url: string, exec: (cmd: string, ...args: string[]) => string,
 *   iptables: (...args: string[]) => string, teardown: () => Promise<void>}>}
 */
async function createNetns() {
  const id = `${process.pid % 100000}`;
  const ns = `rws-${id}`;
  const hostIf = `rws${id}h`; // interface names: at most 15 characters
  const nsIf = `rws${id}n`;
  const x = 1 + (process.pid % 250);
  const hostIp = `10.213.${x}.1`;
  const nsIp = `10.213.${x}.2`;

  let server = null;
  const env = {
    ns, hostIf, nsIf, hostIp, nsIp, port: 0, url: '',
    exec: (cmd, ...args) => must('ip', ['netns', 'exec', ns, cmd, ...args]),
    iptables: (...args) => must('ip', ['netns', 'exec', ns, 'iptables', '-w', ...args]),
    async teardown() {
      if (server && server.exitCode === null && server.signalCode === null) {
        const exited = new Promise((resolve) => server.once('exit', resolve));
        server.kill('SIGKILL');
        let timer;
        await Promise.race([exited, new Promise((r) => { timer = setTimeout(r, 2000); })]);
        clearTimeout(timer);
      }
      server = null;
      run('ip', ['netns', 'del', ns]); // also removes its iptables rules and its veth end
      if (run('ip', ['link', 'show', hostIf]).ok) run('ip', ['link', 'del', hostIf]);
    },
  };

  // Last resort if the test process exits without running afterAll (the server child is
  // killed too: its stdin closes when this process dies).
  const onExit = () => {
    run('ip', ['netns', 'del', ns]);
    run('ip', ['link', 'del', hostIf]);
  };
  process.once('exit', onExit);
  const teardown = env.teardown;
  env.teardown = async () => {
    process.off('exit', onExit);
    await teardown();
  };

  try {
    must('ip', ['netns', 'add', ns]);
    must('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf]);
    must('ip', ['link', 'set', nsIf, 'netns', ns]);
    must('ip', ['addr', 'add', `${hostIp}/30`, 'dev', hostIf]);
    must('ip', ['link', 'set', hostIf, 'up']);
    env.exec('ip', 'addr', 'add', `${nsIp}/30`, 'dev', nsIf);
    env.exec('ip', 'link', 'set', nsIf, 'up');
    env.exec('ip', 'link', 'set', 'lo', 'up');

    server = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', SERVER_SRC], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    env.port = await new Promise((resolve, reject) => {
      let out = '';
      let err = '';
      const timer = setTimeout(() => reject(new Error(`namespace server did not start: ${err}`)), 10000);
      server.stderr.on('data', (d) => { err += d; });
      server.stdout.on('data', (d) => {
        out += d;
        const m = /PORT (\d+)/.exec(out);
        if (m) { clearTimeout(timer); resolve(Number(m[1])); }
      });
      server.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`namespace server exited (${code}): ${err}`));
      });
    });
    env.url = `ws://${nsIp}:${env.port}`;
    return env;
  } catch (err) {
    await env.teardown();
    throw err;
  }
}

module.exports = { createNetns, unavailableReason, run };
