'use strict';

// The default trust store is Node's: a wss:// URL without tls.ca is trusted
// exactly when https.get in the same process trusts it. Each case runs in a child process,
// because NODE_EXTRA_CA_CERTS and --use-openssl-ca are read when node starts.

const { execFile } = require('child_process');
const { startTlsWsServer } = require('../helpers/servers');
const { makeCerts, opensslAvailable } = require('../helpers/certs');
const { nodeDefaultCa, usesOpensslCa } = require('../../lib/trust-store');
const { makeTracker, REPO } = require('./support');

const t = makeTracker();
let certs = null;
let server = null;
let skip = false;

beforeAll(async () => {
  if (!(await opensslAvailable())) {
    skip = true;
    console.log('SKIP: trust store tests need the openssl CLI (apt-get install openssl)');
    return;
  }
  certs = await makeCerts();
  server = t.add(await startTlsWsServer({ cert: certs.valid.cert, key: certs.valid.key }));
}, 30000);

afterAll(async () => {
  await t.cleanup();
  if (certs) certs.cleanup();
});

// Prints {"wss": "open" | <error code>, "https": true | false}.
const CHILD = `
const https = require('https');
const { ResilientSocket } = require(${JSON.stringify(REPO)});
const url = process.argv[1];
// The verdict of https on the same server: a completed (verified) TLS handshake.
const httpsOk = new Promise((resolve) => {
  const req = https.get(url.replace('wss:', 'https:'), { agent: false });
  req.on('socket', (s) => s.once('secureConnect', () => { resolve(true); req.destroy(); }));
  req.on('error', () => resolve(false));
});
const sock = new ResilientSocket(url, { reconnect: false });
const wss = new Promise((resolve) => {
  sock.once('open', () => resolve('open'));
  sock.once('failed', ({ error }) => resolve(error.code));
});
Promise.all([wss, httpsOk]).then(async ([w, h]) => {
  await sock.close();
  console.log(JSON.stringify({ wss: w, https: h }));
  process.exit(0);
});
`;

/**
 * @param {NodeJS.ProcessEnv} extraEnv
 * @param {string[]} [nodeArgs]
 * @returns {Promise<{ wss: string, https: boolean }>}
 */
function probe(extraEnv, nodeArgs = []) {
  // The machine's own NODE_EXTRA_CA_CERTS / SSL_CERT_* must not decide the outcome.
  const env = { ...process.env, NODE_EXTRA_CA_CERTS: '', SSL_CERT_FILE: '', SSL_CERT_DIR: '', NODE_OPTIONS: '', ...extraEnv };
  for (const [k, v] of Object.entries(env)) if (v === '') delete env[k];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [...nodeArgs, '-e', CHILD, server.url], { env, timeout: 20000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout.trim().split('\n').pop()));
    });
  });
}

const maybe = (name, fn) => test(name, async () => {
  if (skip) return;
  await fn();
}, 30000);

maybe('a CA added with NODE_EXTRA_CA_CERTS is trusted by wss:// and by https.get', async () => {
  expect(await probe({ NODE_EXTRA_CA_CERTS: certs.ca.certPath })).toEqual({ wss: 'open', https: true });
});

maybe('without it the server is untrusted by both: ERR_TLS_VERIFY', async () => {
  expect(await probe({})).toEqual({ wss: 'ERR_TLS_VERIFY', https: false });
});

maybe('--use-openssl-ca trusts OpenSSL\'s default paths (SSL_CERT_FILE) like https.get does', async () => {
  expect(await probe({ SSL_CERT_FILE: certs.ca.certPath }, ['--use-openssl-ca'])).toEqual({ wss: 'open', https: true });
  // ...and the bundled store does not contain the throwaway CA.
  expect(await probe({ SSL_CERT_FILE: certs.ca.certPath }, ['--use-bundled-ca'])).toEqual({ wss: 'ERR_TLS_VERIFY', https: false });
});

maybe('tls.ca still replaces the default store', async () => {
  const { ResilientSocket } = require('../../lib');
  const s = new ResilientSocket(server.url, { reconnect: false, tls: { ca: certs.ca.cert } });
  try {
    await new Promise((resolve, reject) => {
      s.once('open', resolve);
      s.once('failed', ({ error }) => reject(error));
    });
  } finally {
    await s.close();
  }
});

describe('nodeDefaultCa on Nodes without tls.getCACertificates', () => {
  const fakeTls = { rootCertificates: ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'] };

  maybe('bundled roots plus the PEMs of NODE_EXTRA_CA_CERTS', async () => {
    const ca = nodeDefaultCa({ tlsModule: fakeTls, execArgv: [], env: { NODE_EXTRA_CA_CERTS: certs.ca.certPath } });
    expect(ca.opensslDefaultPaths).toBe(false);
    expect(ca.pem.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect(ca.pem).toContain(certs.ca.cert.trim().split('\n')[1]);
  });

  maybe('--use-openssl-ca (argv or NODE_OPTIONS; the last CA flag wins) selects OpenSSL\'s default paths', async () => {
    const ca = nodeDefaultCa({ tlsModule: fakeTls, execArgv: ['--use-openssl-ca'], env: {} });
    expect(ca).toEqual({ pem: '', opensslDefaultPaths: true, source: '--use-openssl-ca' });
    expect(usesOpensslCa([], '--max-old-space-size=100 --use-openssl-ca')).toBe(true);
    expect(usesOpensslCa(['--use-bundled-ca'], '--use-openssl-ca')).toBe(false);
    expect(usesOpensslCa(['--use-openssl-ca', '--use-bundled-ca'], '')).toBe(false);
  });

  maybe('a missing NODE_EXTRA_CA_CERTS file is ignored (node only warns about it)', async () => {
    const ca = nodeDefaultCa({ tlsModule: fakeTls, execArgv: [], env: { NODE_EXTRA_CA_CERTS: '/nonexistent/ca.pem' } });
    expect(ca.pem.match(/BEGIN CERTIFICATE/g)).toHaveLength(1);
  });
});
