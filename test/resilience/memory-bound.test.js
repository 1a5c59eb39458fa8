'use strict';

// Regression (issue 8): memory must stay bounded while JavaScript is slow, whatever the frame
// size. Backpressure used to count payload bytes only, so a flood of empty or tiny frames cost
// ~80 B of native memory each (the event struct and the queue holding it) and never reached the
// 64 MiB that pauses reading: with JavaScript blocked, RSS grew without bound (54 → 240 MiB in
// 2.5 s of empty frames). Every queued event now counts its real cost (struct, heap payload,
// detail, the queue's capacity), so reading pauses near 64 MiB of native memory. On the code
// before that, the three tiny-frame cases below reached +650 to +675 MiB in the 3 s (and kept
// growing); the 64 KiB case was already bounded and pins that it stays so.
//
// The client runs in a child process whose JavaScript thread busy-waits BLOCK_MS; this process
// runs a raw server that floods it after a valid upgrade (and so is never blocked itself).

const net = require('net');
const path = require('path');
const { fork } = require('child_process');
const { acceptKey } = require('../helpers/raw-server');
const { withDeadline } = require('../helpers/deadline');
const { createScope } = require('./support');

const BLOCK_MS = 3000;
const MiB = 1 << 20;
// The documented bound (README, Process behaviour): the 64 MiB JavaScript backlog, plus slack for
// what is not in the backlog (one read's worth of parsed frames, read buffers, allocator
// fragmentation, V8 noise while blocked).
const CEILING_BYTES = 64 * MiB + 64 * MiB;
const CHUNK_BYTES = 1 * MiB;

let scope;
beforeEach(() => {
  scope = createScope();
});
afterEach(() => scope.dispose());

/** One unmasked server frame with `payloadLength` bytes of 'a' (opcode 1 text, 2 binary). */
function frame(opcode, payloadLength) {
  let header;
  if (payloadLength < 126) {
    header = Buffer.from([0x80 | opcode, payloadLength]);
  } else if (payloadLength < 65536) {
    header = Buffer.from([0x80 | opcode, 126, payloadLength >> 8, payloadLength & 0xff]);
  } else {
    header = Buffer.alloc(10);
    header[0] = 0x80 | opcode;
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(payloadLength), 2);
  }
  return Buffer.concat([header, Buffer.alloc(payloadLength, 0x61)]);
}

/**
 * A raw TCP server: answers the upgrade, waits for the client's first frame ('go'), then writes
 * `chunk` again and again, as fast as the socket takes it, until the socket closes.
 */
async function startFloodServer(chunk) {
  const sockets = new Set();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    let buffered = Buffer.alloc(0);
    let upgraded = false;
    let flooding = false;
    const flood = () => {
      while (!socket.destroyed && socket.write(chunk));
    };
    socket.on('drain', () => {
      if (flooding) flood();
    });
    socket.on('data', (data) => {
      buffered = Buffer.concat([buffered, data]);
      if (!upgraded) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        const key = /sec-websocket-key:\s*(\S+)/i.exec(buffered.subarray(0, end).toString())[1];
        socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`);
        upgraded = true;
        buffered = buffered.subarray(end + 4);
      }
      if (upgraded && !flooding && buffered.length > 0) { // any client frame: the 'go' message
        flooding = true;
        flood();
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  scope.add(server, (s) => {
    for (const socket of sockets) socket.destroy();
    return new Promise((resolve) => s.close(resolve));
  });
  return server.address().port;
}

/** Runs the blocked client against a flood of `chunk`; resolves with its report. */
async function measure(chunk) {
  const port = await startFloodServer(chunk);
  const child = fork(path.join(__dirname, 'fixtures', 'blocked-client.js'),
    [`ws://127.0.0.1:${port}/`, String(BLOCK_MS)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  scope.add(child, (c) => {
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    return exited;
  });
  const report = await withDeadline(new Promise((resolve, reject) => {
    child.on('message', (m) => {
      if (m.report) resolve(m.report);
      if (m.closed) reject(new Error(`the client closed before reporting: ${JSON.stringify(m.closed)}`));
    });
    child.once('exit', (code, signal) => reject(new Error(`the client exited (${code ?? signal}) before reporting`)));
  }), BLOCK_MS + 15000, 'the blocked client to report');
  child.kill('SIGKILL'); // not measured: JavaScript catching up with the backlog
  return report;
}

const cases = [
  ['empty text frames', frame(1, 0)],
  ['zero-payload binary frames', frame(2, 0)],
  ['1-byte text frames', frame(1, 1)],
  ['64 KiB binary frames', frame(2, 64 * 1024)],
];

test.each(cases)(`JS blocked ${BLOCK_MS / 1000} s under a flood of %s: RSS stays under baseline + 128 MiB`, async (_, one) => {
  const chunk = Buffer.concat(Array(Math.max(1, Math.floor(CHUNK_BYTES / one.length))).fill(one));
  const report = await measure(chunk);
  const grewMiB = (report.peak - report.baseline) / MiB;
  console.log(`${_}: RSS ${(report.baseline / MiB).toFixed(0)} → peak ${(report.peak / MiB).toFixed(0)} MiB ` +
    `(+${grewMiB.toFixed(0)}) in ${report.blockedMs} ms; native read ${report.messagesIn} messages, ` +
    `${(report.bytesIn / MiB).toFixed(1)} MiB`);
  // The flood happened and was big enough to test the bound: at ~80 B of native memory per
  // event plus its payload, at least half the 64 MiB backlog arrived while JavaScript was blocked.
  expect(report.messagesIn * 80 + report.bytesIn).toBeGreaterThan(32 * MiB);
  expect(report.peak - report.baseline).toBeLessThan(CEILING_BYTES);
}, BLOCK_MS + 30000);
