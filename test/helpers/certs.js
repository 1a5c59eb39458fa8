'use strict';

// Throwaway certificates for TLS tests, made with the openssl CLI at test time:
// a CA, a valid localhost leaf, a wrong-host leaf, an expired leaf and a self-signed
// leaf. EC P-256 keys keep generation fast (a few tens of ms per certificate).
//
// OpenSSL 3.0's `x509 -req` cannot set a notBefore/notAfter in the past (`-not_before`
// arrived in 3.4), so the expired leaf is issued by `openssl ca` with a minimal config.

const { execFile } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');

const OPENSSL_TIMEOUT_MS = 20000;

/**
 * Runs the openssl CLI (no shell) with a deadline.
 *
 * @param {string[]} args
 * @param {string} cwd
 * @returns {Promise<string>} stdout
 */
function openssl(args, cwd) {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { cwd, timeout: OPENSSL_TIMEOUT_MS, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        if (err) {
          err.message = `openssl ${args.join(' ')} failed: ${err.message}\n${stderr}`;
          reject(err);
        } else {
          resolve(stdout);
        }
      });
  });
}

/**
 * Tells whether the openssl CLI can be run.
 *
 * @returns {Promise<boolean>}
 */
async function opensslAvailable() {
  try {
    await openssl(['version'], os.tmpdir());
    return true;
  } catch {
    return false;
  }
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/**
 * Writes an extension file for a TLS server leaf.
 *
 * @param {string} file
 * @param {string} san subjectAltName value
 */
function writeLeafExtensions(file, san) {
  fs.writeFileSync(file, [
    '[leaf]',
    'basicConstraints = critical, CA:FALSE',
    'keyUsage = critical, digitalSignature, keyEncipherment',
    'extendedKeyUsage = serverAuth',
    `subjectAltName = ${san}`,
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid',
    '',
  ].join('\n'));
}

/**
 * Issues a leaf signed by the CA with `openssl x509 -req` (validity: now .. now + 2 days).
 *
 * @param {string} dir
 * @param {string} name file stem
 * @param {string} cn subject common name
 * @param {string} san subjectAltName value
 * @returns {Promise<{cert: string, key: string, certPath: string, keyPath: string}>}
 */
async function issueLeaf(dir, name, cn, san) {
  const ext = `${name}.ext`;
  writeLeafExtensions(path.join(dir, ext), san);
  await openssl(['req', '-new', ...EC_KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`,
    '-subj', `/CN=${cn}`], dir);
  await openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key',
    '-set_serial', `0x${crypto.randomBytes(8).toString('hex')}`, '-days', '2', '-sha256',
    '-extfile', ext, '-extensions', 'leaf', '-out', `${name}.crt`], dir);
  return readPair(dir, name);
}

/**
 * Issues an already-expired leaf for localhost with `openssl ca` (validity in 2020).
 *
 * @param {string} dir
 * @param {string} name
 * @returns {Promise<{cert: string, key: string, certPath: string, keyPath: string}>}
 */
async function issueExpiredLeaf(dir, name) {
  const caDir = path.join(dir, 'ca-db');
  fs.mkdirSync(caDir, { recursive: true });
  fs.writeFileSync(path.join(caDir, 'index.txt'), '');
  fs.writeFileSync(path.join(caDir, 'serial'), `${crypto.randomBytes(8).toString('hex').toUpperCase()}\n`);
  fs.writeFileSync(path.join(dir, 'ca.cnf'), [
    '[ca]',
    'default_ca = test_ca',
    '[test_ca]',
    `dir = ${caDir}`,
    'database = $dir/index.txt',
    'serial = $dir/serial',
    'new_certs_dir = $dir',
    `certificate = ${path.join(dir, 'ca.crt')}`,
    `private_key = ${path.join(dir, 'ca.key')}`,
    'default_md = sha256',
    'default_days = 1',
    'policy = policy_any',
    'unique_subject = no',
    'copy_extensions = none',
    '[policy_any]',
    'commonName = supplied',
    '[leaf]',
    'basicConstraints = critical, CA:FALSE',
    'keyUsage = critical, digitalSignature, keyEncipherment',
    'extendedKeyUsage = serverAuth',
    'subjectAltName = DNS:localhost, IP:127.0.0.1',
    '',
  ].join('\n'));
  await openssl(['req', '-new', ...EC_KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`,
    '-subj', '/CN=localhost'], dir);
  await openssl(['ca', '-batch', '-config', 'ca.cnf', '-extensions', 'leaf', '-notext',
    '-startdate', '20200101000000Z', '-enddate', '20200102000000Z',
    '-in', `${name}.csr`, '-out', `${name}.crt`], dir);
  return readPair(dir, name);
}

/**
 * @param {string} dir
 * @param {string} name
 * @returns {{cert: string, key: string, certPath: string, keyPath: string}}
 */
function readPair(dir, name) {
  const certPath = path.join(dir, `${name}.crt`);
  const keyPath = path.join(dir, `${name}.key`);
  return {
    cert: fs.readFileSync(certPath, 'utf8'),
    key: fs.readFileSync(keyPath, 'utf8'),
    certPath,
    keyPath,
  };
}

/**
 * @typedef {object} CertPair
 * @property {string} cert PEM
 * @property {string} key PEM (unencrypted)
 * @property {string} certPath
 * @property {string} keyPath
 */

/**
 * @typedef {object} TestCerts
 * @property {string} dir where the files are
 * @property {CertPair} ca throwaway CA (`ca.cert` is what clients trust)
 * @property {CertPair} valid CN=localhost, SAN DNS:localhost, IP:127.0.0.1, signed by the CA
 * @property {CertPair} wrongHost CN/SAN wrong.example, signed by the CA
 * @property {CertPair} expired localhost SANs, signed by the CA, valid only on 2020-01-01
 * @property {CertPair} selfSigned localhost SANs, self-signed (not issued by the CA)
 * @property {() => void} cleanup removes what makeCerts created
 */

/**
 * Creates a throwaway CA and leaf certificates with the openssl CLI.
 *
 * @param {string} [dir] directory to write into (created if missing); default: a fresh
 *   `mkdtemp` directory. cleanup() removes the directory if makeCerts created it, or else
 *   only the files it wrote.
 * @returns {Promise<TestCerts>}
 */
async function makeCerts(dir) {
  let ownDir = false;
  if (!dir) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resilient-ws-certs-'));
    ownDir = true;
  } else if (!fs.existsSync(dir)) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    ownDir = true;
  }
  const before = new Set(fs.readdirSync(dir));
  const cleanup = () => {
    if (ownDir) {
      fs.rmSync(dir, { recursive: true, force: true });
      return;
    }
    for (const entry of fs.readdirSync(dir)) {
      if (!before.has(entry)) fs.rmSync(path.join(dir, entry), { recursive: true, force: true });
    }
  };

  try {
    await openssl(['req', '-x509', ...EC_KEY, '-keyout', 'ca.key', '-out', 'ca.crt',
      '-days', '2', '-sha256', '-subj', '/CN=resilient-ws throwaway test CA',
      '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
    const ca = readPair(dir, 'ca');
    // Independent steps run in parallel; each writes its own files.
    const [valid, wrongHost, expired] = await Promise.all([
      issueLeaf(dir, 'valid', 'localhost', 'DNS:localhost, IP:127.0.0.1'),
      issueLeaf(dir, 'wrong-host', 'wrong.example', 'DNS:wrong.example'),
      issueExpiredLeaf(dir, 'expired'),
    ]);
    await openssl(['req', '-x509', ...EC_KEY, '-keyout', 'self-signed.key',
      '-out', 'self-signed.crt', '-days', '2', '-sha256', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-addext', 'basicConstraints=critical,CA:FALSE'], dir);
    const selfSigned = readPair(dir, 'self-signed');
    return { dir, ca, valid, wrongHost, expired, selfSigned, cleanup };
  } catch (err) {
    cleanup();
    throw err;
  }
}

module.exports = { makeCerts, opensslAvailable };
