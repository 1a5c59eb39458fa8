'use strict';

const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const tls = require('tls');
const { execFileSync } = require('child_process');
const WebSocket = require('ws');
const { makeCerts } = require('../helpers/certs');
const { startTlsWsServer } = require('../helpers/servers');
const { onceWithin, waitFor, withDeadline } = require('../helpers/deadline');

let haveOpenssl = true;
try {
  execFileSync('openssl', ['version'], { stdio: 'ignore', timeout: 5000 });
} catch {
  haveOpenssl = false;
  console.log('SKIP: certs self-test needs the openssl CLI (apt-get install openssl)');
}
const maybe = haveOpenssl ? describe : describe.skip;

/**
 * TLS-connects to localhost:port trusting only the test CA.
 * Resolves 'ok' or the error code.
 */
function tlsOutcome(port, ca) {
  return withDeadline(new Promise((resolve) => {
    const s = tls.connect({ host: 'localhost', port, ca });
    s.on('secureConnect', () => {
      resolve(s.authorized ? 'ok' : s.authorizationError);
      s.destroy();
    });
    s.on('error', (e) => resolve(e.code));
  }), 5000, 'a TLS outcome');
}

maybe('makeCerts + startTlsWsServer', () => {
  let certs;
  beforeAll(async () => {
    certs = await makeCerts();
  }, 30000);
  afterAll(() => certs && certs.cleanup());

  const servers = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
  });

  async function serve(pair) {
    const srv = await startTlsWsServer({ cert: pair.cert, key: pair.key });
    servers.push(srv);
    return srv;
  }

  test('returns PEM strings and paths for every certificate', () => {
    for (const name of ['valid', 'wrongHost', 'expired', 'selfSigned']) {
      expect(certs[name].cert).toMatch(/^-----BEGIN CERTIFICATE-----/);
      expect(certs[name].key).toMatch(/-----BEGIN PRIVATE KEY-----/);
      expect(fs.readFileSync(certs[name].certPath, 'utf8')).toBe(certs[name].cert);
    }
    expect(certs.ca.cert).toMatch(/^-----BEGIN CERTIFICATE-----/);
    const info = new crypto.X509Certificate(certs.valid.cert);
    expect(info.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1');
    expect(info.checkIssued(new crypto.X509Certificate(certs.ca.cert))).toBe(true);
    const expired = new crypto.X509Certificate(certs.expired.cert);
    expect(new Date(expired.validTo).getTime()).toBeLessThan(Date.now());
  });

  test('a client trusting the CA accepts the valid leaf and talks over wss', async () => {
    const srv = await serve(certs.valid);
    expect(await tlsOutcome(srv.port, certs.ca.cert)).toBe('ok');
    const ws = new WebSocket(srv.url, { ca: certs.ca.cert });
    const messages = [];
    ws.on('message', (d) => messages.push(d.toString()));
    await onceWithin(ws, 'open', 3000);
    ws.send('over tls');
    await waitFor(() => messages.length === 1, 3000, 'the echo');
    expect(messages[0]).toBe('over tls');
    ws.terminate();
  });

  test('the expired leaf fails with CERT_HAS_EXPIRED', async () => {
    const srv = await serve(certs.expired);
    expect(await tlsOutcome(srv.port, certs.ca.cert)).toBe('CERT_HAS_EXPIRED');
  });

  test('the wrong-host leaf fails with ERR_TLS_CERT_ALTNAME_INVALID', async () => {
    const srv = await serve(certs.wrongHost);
    expect(await tlsOutcome(srv.port, certs.ca.cert)).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  });

  test('the self-signed leaf fails with DEPTH_ZERO_SELF_SIGNED_CERT', async () => {
    const srv = await serve(certs.selfSigned);
    expect(await tlsOutcome(srv.port, certs.ca.cert)).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
  });

  test('a client without the CA rejects even the valid leaf', async () => {
    const srv = await serve(certs.valid);
    expect(await tlsOutcome(srv.port, undefined)).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });
});

maybe('makeCerts cleanup', () => {
  test('removes its own temp dir', async () => {
    const c = await makeCerts();
    expect(fs.existsSync(c.dir)).toBe(true);
    c.cleanup();
    expect(fs.existsSync(c.dir)).toBe(false);
  }, 30000);

  test('in a given dir, removes only what it created', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certs-selftest-'));
    try {
      fs.writeFileSync(path.join(dir, 'keep.txt'), 'mine');
      const c = await makeCerts(dir);
      expect(c.dir).toBe(dir);
      expect(fs.existsSync(path.join(dir, 'ca.crt'))).toBe(true);
      c.cleanup();
      expect(fs.readdirSync(dir)).toEqual(['keep.txt']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 30000);
});
