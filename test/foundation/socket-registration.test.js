'use strict';

// Connecting leaves Asio's epoll registration of a socket interested in writability; kept after
// the handshake, every ACK and every re-armed wait for readability also reported "writable" and
// woke the io thread for nothing (bench echo: about one wasted wake-up per round trip). An open
// ws:// socket is registered anew for readability only. Read from the kernel's own view of the
// io thread's epoll instance (/proc/self/fdinfo).

const fs = require('fs');
const { startWsServer } = require('../helpers/servers');
const { makeTracker, next } = require('./support');

const t = makeTracker();
afterEach(() => t.cleanup());

const EPOLLIN = 0x1;
const EPOLLOUT = 0x4;

/** This process's descriptors of TCP sockets connected to `port` on the loopback. */
function socketsTo(port) {
  const inodes = new Set();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of fs.readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 9 && parseInt(f[2].split(':')[1], 16) === port) inodes.add(f[9]);
    }
  }
  const fds = [];
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/self/fd/${fd}`));
      if (m && inodes.has(m[1])) fds.push(Number(fd));
    } catch {
      // closed meanwhile
    }
  }
  return fds;
}

/** The events every epoll instance of this process watches `fd` for. */
function epollInterest(fd) {
  const masks = [];
  for (const epfd of fs.readdirSync('/proc/self/fd')) {
    let target;
    try {
      target = fs.readlinkSync(`/proc/self/fd/${epfd}`);
    } catch {
      continue;
    }
    if (!target.includes('eventpoll')) continue;
    for (const line of fs.readFileSync(`/proc/self/fdinfo/${epfd}`, 'utf8').split('\n')) {
      const m = /^tfd:\s+(\d+)\s+events:\s+([0-9a-f]+)/.exec(line);
      if (m && Number(m[1]) === fd) masks.push(parseInt(m[2], 16));
    }
  }
  return masks;
}

test('an open ws:// socket is watched for readability only, not writability', async () => {
  const server = t.add(await startWsServer());
  const sock = t.socket(server.url);
  await next(sock, 'open');
  // Writes went through the io thread too (two messages in one tick are one batch for it).
  const echoed = next(sock, 'message');
  await Promise.all([sock.send('x'), sock.send('y')]);
  await echoed;
  const fds = socketsTo(server.port);
  expect(fds.length).toBe(1);
  const masks = epollInterest(fds[0]);
  expect(masks.length).toBe(1);  // the io thread's epoll instance, nobody else's
  expect(masks[0] & EPOLLIN).toBe(EPOLLIN);
  expect(masks[0] & EPOLLOUT).toBe(0);
});
