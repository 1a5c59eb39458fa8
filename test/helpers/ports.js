'use strict';

// Loopback ports: free ones for test peers that must be told a port (nginx, redis-server,
// tinyproxy), and one that refuses connections.

const net = require('net');

/** A port that was free a moment ago on 127.0.0.1. */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen({ host: '127.0.0.1', port: 0 }, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
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

module.exports = { freePort, accepts, refusedPort };
