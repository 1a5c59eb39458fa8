'use strict';

// Loopback ports: free ones for test peers that must be told a port (nginx, redis-server,
// tinyproxy), one that refuses connections, and stable ones for listeners that come back.

const fs = require('fs');
const net = require('net');

/** Listens on 127.0.0.1:port (0: any), closes, and resolves with the port. */
function probePort(port) {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen({ host: '127.0.0.1', port, exclusive: true }, () => {
      const bound = s.address().port;
      s.close(() => resolve(bound));
    });
  });
}

/**
 * A port that was free a moment ago on 127.0.0.1, for a peer that binds it itself (nginx,
 * redis-server, tinyproxy). From below listen(0)'s range (see listenOnStablePort), so that no
 * other process's listen(0) takes it before the peer binds it.
 */
function freePort() {
  return listenOnStablePort(probePort);
}

/** Resolves true if 127.0.0.1:port accepts a TCP connection. */
function accepts(port) {
  return new Promise((resolve) => {
    const c = net.connect({ host: '127.0.0.1', port });
    c.once('connect', () => { c.destroy(); resolve(true); });
    c.once('error', () => resolve(false));
  });
}

/**
 * A loopback port that refuses connections, for as long as the test runs. Not a port that was
 * free a moment ago: listen(0) in any process hands such a port out again (measured here: about
 * 1 in 100 times within the next 50 listens), and a test whose "refused" port was taken by
 * another suite's server would see it accept instead. Port 1 lies below the range listen(0)
 * and connect() pick from, and binding it needs a privileged service nobody runs.
 */
async function refusedPort() {
  const port = 1;
  if (await accepts(port)) {
    throw new Error(`refusedPort: something listens on 127.0.0.1:${port}; the tests need it closed (stop that service)`);
  }
  return port;
}

/**
 * Listens, through `tryListen(port)`, on a port below the range listen(0) and connect() pick from
 * (Linux: net.ipv4.ip_local_port_range), for a listener that stops and listens again on the same
 * port (a fault proxy's 'refuse' mode): a port from that range, once released, is soon handed to
 * another process's listen(0) (see refusedPort), which then takes it, and the client that should
 * have been refused reaches someone else's server instead. Random ports are tried until one is
 * free; `tryListen` rejects with EADDRINUSE for a taken one. Resolves with what it resolved with.
 */
async function listenOnStablePort(tryListen) {
  let low = 0;
  try {
    [low] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
  } catch {
    // Not Linux: its range is not known here.
  }
  const first = 10000;
  if (!(low > first + 1000)) return tryListen(0); // no room below the range: take any
  for (let tries = 0; ; tries++) {
    const port = first + Math.floor(Math.random() * (low - first));
    try {
      return await tryListen(port);
    } catch (err) {
      if (err.code !== 'EADDRINUSE' || tries >= 100) throw err;
    }
  }
}

module.exports = { freePort, accepts, refusedPort, listenOnStablePort };
