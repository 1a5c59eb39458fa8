'use strict';

// The client side of bench/server-fanout.js, run as its own process (forked, IPC): opens plain
// `ws` connections on command and reports when every one of them has received the expected
// number of messages.

const WebSocket = require('ws');
let sockets = [];
let counts = [];
let expect = 0;
let done = 0;
function onEvent(i) {
  counts[i] += 1;
  if (counts[i] === expect) {
    done += 1;
    if (done === sockets.length) process.send({ done: true, at: Date.now() });
  }
}
process.on('message', async (m) => {
  if (m.connect) {
    const opened = [];
    for (let i = 0; i < m.n; i++) {
      const ws = new WebSocket(m.connect, { perMessageDeflate: false });
      const idx = sockets.length;
      sockets.push(ws);
      counts.push(0);
      ws.on('message', () => onEvent(idx));
      opened.push(new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); }));
      if (i % 100 === 99) await Promise.all(opened.slice(-100));
    }
    await Promise.all(opened);
    process.send({ connected: sockets.length });
  } else if (m.expect !== undefined) {
    expect = m.expect;
    done = 0;
    counts = counts.map(() => 0);
    process.send({ armed: true });
  } else if (m.close) {
    for (const ws of sockets) ws.terminate();
    sockets = [];
    counts = [];
    process.send({ closed: true });
  }
});
