'use strict';

// An open plain-TCP connection waits for bytes in the io thread's own epoll set while it is idle
// (no Asio descriptor state per idle socket) and in Asio's while it is busy; it moves between
// them as its pace changes. Seen from outside: which epoll set of this process holds the
// connection's descriptor (/proc/self/fdinfo), and whether every message, small or large, makes
// it through the moves whole and in order.

const fs = require('fs');
const { ResilientSocket } = require('../..');
const { startWsServer } = require('../helpers/servers');
const { createScope } = require('./support');

const scope = createScope();
afterEach(() => scope.dispose());

/**
 * The descriptor of this process's established TCP socket from local port `port` to remote port
 * `remotePort`. /proc/self/net/tcp lists every socket of the network namespace, and another
 * process's connection to another server may use the same local port: both ends must match.
 */
function descriptorOfConnection(port, remotePort) {
  const hex = (p) => `:${p.toString(16).toUpperCase().padStart(4, '0')}`;
  // Established (st 01) and owned by a descriptor (inode not 0): an earlier test's connection on
  // the same port may linger in TIME_WAIT, which no descriptor holds.
  const row = fs.readFileSync('/proc/self/net/tcp', 'utf8').split('\n').slice(1)
    .map((line) => line.trim().split(/\s+/))
    .find((fields) => fields[1] && fields[1].endsWith(hex(port)) && fields[2].endsWith(hex(remotePort)) &&
      fields[3] === '01' && fields[9] !== '0');
  if (!row) throw new Error(`no TCP socket from local port ${port} to port ${remotePort}`);
  const target = `socket:[${row[9]}]`;
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      if (fs.readlinkSync(`/proc/self/fd/${fd}`) === target) return Number(fd);
    } catch { /* closed meanwhile */ }
  }
  throw new Error(`socket inode ${row[9]} is not open in this process`);
}

/** The epoll descriptor of this process whose set holds `fd`, or null. */
function epollHolding(fd) {
  for (const entry of fs.readdirSync('/proc/self/fd')) {
    let link;
    try {
      link = fs.readlinkSync(`/proc/self/fd/${entry}`);
    } catch { continue; }
    if (link !== 'anon_inode:[eventpoll]') continue;
    const info = fs.readFileSync(`/proc/self/fdinfo/${entry}`, 'utf8');
    const registered = info.split('\n').filter((line) => line.startsWith('tfd:'))
      .map((line) => Number(line.split(/\s+/)[1]));
    if (registered.includes(fd)) return Number(entry);
  }
  return null;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Sends each message in turn and waits for its echo; returns what came back. */
async function echoEach(sock, messages) {
  const back = [];
  for (const m of messages) {
    const reply = new Promise((resolve) => sock.once('message', resolve));
    sock.send(m);
    back.push(await reply);
  }
  return back;
}

test('an idle connection is parked, a busy one is not, and nothing is lost moving between them', async () => {
  const server = scope.add(await startWsServer(), (s) => s.close());
  const sock = scope.socket(new ResilientSocket(server.url, { heartbeat: false }));
  const opened = new Promise((resolve) => sock.once('open', resolve));
  const conn = await server.nextConnection();
  await opened;
  const fd = descriptorOfConnection(conn.ws._socket.remotePort, conn.ws._socket.localPort);

  const parked = epollHolding(fd);
  expect(parked).not.toBeNull();

  const small = Array.from({ length: 100 }, (_, i) => `busy ${i}`);
  expect(await echoEach(sock, small)).toEqual(small);
  const busy = epollHolding(fd);
  expect(busy).not.toBeNull();
  expect(busy).not.toBe(parked);

  // A wait of a second or more parks it again, at the next wait.
  await sleep(1200);
  expect(await echoEach(sock, ['after a pause'])).toEqual(['after a pause']);
  await sleep(50);
  expect(epollHolding(fd)).toBe(parked);

  // Large messages written and read while parked (a write that waits for room), and across the
  // move back to Asio in the middle of one.
  const big = Buffer.alloc(4 << 20);
  for (let i = 0; i < big.length; i += 4) big.writeUInt32LE(i, i);
  const [bigBack] = await echoEach(sock, [big]);
  expect(Buffer.compare(bigBack, big)).toBe(0);
  const again = Array.from({ length: 50 }, (_, i) => (i % 10 === 0 ? big.subarray(0, 65536 + i) : `again ${i}`));
  const backAgain = await echoEach(sock, again);
  const shape = (m) => (Buffer.isBuffer(m) ? m.length : m);
  expect(backAgain.map(shape)).toEqual(again.map(shape));
  expect(epollHolding(fd)).toBe(busy);
}, 20000);
