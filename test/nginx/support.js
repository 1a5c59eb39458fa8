'use strict';

// A real nginx (Debian package `nginx`, /usr/sbin/nginx) as an unprivileged reverse proxy in
// front of a test ws server. Everything it writes (config, pid, logs, temp dirs) lives in a
// fresh temp dir that stop() removes; it runs in the foreground (daemon off, no master) as a
// child of the test process so stop() can end it by pid.

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');
const { waitFor, withDeadline } = require('../helpers/deadline');

const NGINX = '/usr/sbin/nginx';
const available = fs.existsSync(NGINX);

const { freePort, accepts } = require('../helpers/ports');

/**
 * Starts nginx proxying `/` to the ws server on `upstreamPort`, plus fixed answers on
 * `/busy` (503 + Retry-After: 2) and `/auth` (401).
 *
 * @param {object} opts
 * @param {number} opts.upstreamPort
 * @param {string} [opts.readTimeout='60s'] proxy_read_timeout for `/`
 * @returns {Promise<{port: number, url: (p?: string) => string, dir: string,
 *   errorLog: () => string, accessLog: () => Array<{at: number, status: number, uri: string}>,
 *   stop: () => Promise<void>}>}
 */
async function startNginx({ upstreamPort, readTimeout = '60s' }) {
  return runNginx('rws-nginx-', 64, (port) => `
  server {
    listen 127.0.0.1:${port};
    location = /busy {
      add_header Retry-After 2 always;
      return 503;
    }
    location = /auth {
      return 401;
    }
    location / {
      proxy_pass http://127.0.0.1:${upstreamPort};
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_read_timeout ${readTimeout};
    }
  }`);
}

/**
 * Runs one foreground nginx from a private directory (config, pid, logs, temp paths) on a free
 * loopback port, with `httpBody(port)` inside its `http { }` block, and waits until it accepts.
 * stop() ends it (SIGTERM, then SIGKILL) and removes the directory.
 * @param {string} dirPrefix temp directory name prefix (test/nginx counts `rws-nginx-` processes)
 * @param {number} workerConnections
 * @param {(port: number) => string} httpBody
 */
async function runNginx(dirPrefix, workerConnections, httpBody) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), dirPrefix));
  const port = await freePort();
  const p = (name) => path.join(dir, name);
  const conf = `
daemon off;
master_process off;
worker_processes 1;
pid ${p('nginx.pid')};
error_log ${p('error.log')} info;
events { worker_connections ${workerConnections}; }
http {
  # When nginx answered each request (ms since the epoch), for timings the client's own event
  # delivery cannot blur.
  log_format timed '$msec $status $request_uri';
  access_log ${p('access.log')} timed;
  client_body_temp_path ${p('client_body')};
  proxy_temp_path ${p('proxy')};
  fastcgi_temp_path ${p('fastcgi')};
  uwsgi_temp_path ${p('uwsgi')};
  scgi_temp_path ${p('scgi')};
${httpBody(port)}
}
`;
  fs.writeFileSync(p('nginx.conf'), conf);
  // -e: nginx opens its default error log before reading the config; point it here too.
  const child = spawn(NGINX, ['-p', dir, '-e', p('error.log'), '-c', p('nginx.conf')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  let exited = false;
  const exit = new Promise((resolve) => child.once('exit', (code, signal) => {
    exited = true;
    resolve({ code, signal });
  }));
  const errorLog = () => {
    try { return fs.readFileSync(p('error.log'), 'utf8'); } catch { return ''; }
  };

  const accessLog = () => {
    let text = '';
    try { text = fs.readFileSync(p('access.log'), 'utf8'); } catch { return []; }
    return text.split('\n').filter(Boolean).map((line) => {
      const [msec, status, uri] = line.split(' ');
      return { at: Number(msec) * 1000, status: Number(status), uri };
    });
  };

  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM'); // fast shutdown: drops open (upgraded) connections at once
      try {
        await withDeadline(exit, 3000, 'nginx to exit after SIGTERM');
      } catch {
        child.kill('SIGKILL');
        await withDeadline(exit, 3000, 'nginx to exit after SIGKILL');
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };

  try {
    await waitFor(async () => {
      if (exited) throw new Error(`nginx exited: ${stderr.trim()} ${errorLog().trim()}`);
      return accepts(port);
    }, 5000, `nginx to accept on 127.0.0.1:${port}`);
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    port,
    pid: child.pid,
    dir,
    url: (pathAndQuery = '/') => `ws://127.0.0.1:${port}${pathAndQuery}`,
    errorLog,
    accessLog,
    stop,
  };
}

module.exports = { NGINX, available, startNginx, runNginx };
