'use strict';
// The default trust store of wss:// is Node's, so a wss:// URL is trusted exactly when `https`
// in the same process would trust it. Without this, the addon would use the
// OpenSSL default paths of whichever OpenSSL it runs on: the system's store for a source build,
// an often empty /usr/local/ssl for the prebuilt binaries (they use node's own OpenSSL).
//
// Which certificates Node trusts by default:
//   - Node >= 22.15 / 23.10: tls.getCACertificates('default') says it, honouring
//     --use-system-ca, --use-openssl-ca / --use-bundled-ca and NODE_EXTRA_CA_CERTS;
//   - older Nodes: tls.rootCertificates (the bundled Mozilla list) + the PEMs of
//     NODE_EXTRA_CA_CERTS, or with --use-openssl-ca OpenSSL's default paths (SSL_CERT_FILE,
//     SSL_CERT_DIR, the OpenSSL directory) + NODE_EXTRA_CA_CERTS.
// The native side parses the bundle once per environment (this module is loaded once per
// environment too) into one X509_STORE that every TLS context shares.
const fs = require('fs');
const tls = require('tls');

/**
 * Whether node runs with --use-openssl-ca (the last of it and --use-bundled-ca wins, as in node).
 * @param {string[]} execArgv
 * @param {string} nodeOptions
 * @returns {boolean}
 */
function usesOpensslCa(execArgv, nodeOptions) {
  let openssl = false;
  for (const flag of [...(nodeOptions || '').split(/\s+/), ...execArgv]) {
    if (flag === '--use-openssl-ca') openssl = true;
    else if (flag === '--use-bundled-ca') openssl = false;
  }
  return openssl;
}

/**
 * The certificates of NODE_EXTRA_CA_CERTS, as node reads them at start-up (a missing or
 * unreadable file is ignored there with a warning; here too, silently: node warned already).
 * @param {string|undefined} file
 * @returns {string[]} PEM blocks
 */
function extraCaCertificates(file) {
  if (!file) return [];
  try {
    return fs.readFileSync(file, 'latin1').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) || [];
  } catch {
    return [];
  }
}

/**
 * Node's default trust store as the native side takes it.
 * @param {{ tlsModule?: typeof tls, execArgv?: string[], env?: NodeJS.ProcessEnv }} [from] for tests
 * @returns {{ pem: string, opensslDefaultPaths: boolean, source: string }}
 */
function nodeDefaultCa(from = {}) {
  const t = from.tlsModule || tls;
  const env = from.env || process.env;
  const execArgv = from.execArgv || process.execArgv;
  if (typeof t.getCACertificates === 'function') {
    return { pem: t.getCACertificates('default').join('\n'), opensslDefaultPaths: false, source: 'tls.getCACertificates' };
  }
  const extra = extraCaCertificates(env.NODE_EXTRA_CA_CERTS);
  if (usesOpensslCa(execArgv, env.NODE_OPTIONS)) {
    return { pem: extra.join('\n'), opensslDefaultPaths: true, source: '--use-openssl-ca' };
  }
  return { pem: [...t.rootCertificates, ...extra].join('\n'), opensslDefaultPaths: false, source: 'tls.rootCertificates' };
}

let installed = false;

/**
 * Hands Node's default trust store to the addon, once per environment, before the first socket
 * that needs it (a wss:// URL without tls.ca and with verification on).
 * @param {{ setDefaultCa: (pem: string, opensslDefaultPaths: boolean) => void }} native
 */
function ensureDefaultTrustStore(native) {
  if (installed) return;
  const { pem, opensslDefaultPaths } = nodeDefaultCa();
  native.setDefaultCa(pem, opensslDefaultPaths);
  installed = true;
}

module.exports = { nodeDefaultCa, ensureDefaultTrustStore, usesOpensslCa, extraCaCertificates };
