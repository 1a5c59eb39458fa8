'use strict';

// The binding wraps the socket object itself, and the wrap's reference is what keeps a socket
// alive while its events may come. So: a socket the application lets go of while it is open keeps
// running (it would otherwise vanish with its connection); once closed and let go of, it is
// collected and its native side freed. Runs in a child with --expose-gc.

const { execFile } = require('child_process');
const { REPO } = require('./support');

const CHILD_SOURCE = `
const { once } = require('events');
const { WebSocketServer } = require(${JSON.stringify(`${REPO}/node_modules/ws`)});
const { ResilientSocket } = require(${JSON.stringify(`${REPO}/lib`)});
const collected = [];
const registry = new FinalizationRegistry((name) => collected.push(name));
const collect = async () => {
  for (let i = 0; i < 10; i++) {
    global.gc();
    await new Promise((r) => setTimeout(r, 20));
  }
};
(async () => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(wss, 'listening');
  wss.on('connection', (ws) => ws.on('message', (m) => ws.send(m)));
  const url = 'ws://127.0.0.1:' + wss.address().port + '/';
  (() => {
    const s = new ResilientSocket(url);
    registry.register(s, 'dropped while open');
    s.on('message', (m) => console.log(JSON.stringify({ echoed: String(m) })));
    s.once('open', () => s.send('still here'));
  })();
  await (async () => {
    const s = new ResilientSocket(url);
    registry.register(s, 'closed');
    await once(s, 'open');
    await s.close();
  })();
  while (wss.clients.size < 1) await new Promise((r) => setTimeout(r, 10));
  await collect();
  const serverClients = wss.clients.size;
  // The dropped socket still answers: its connection was not collected from under it.
  for (const c of wss.clients) c.send('ping from server');
  await new Promise((r) => setTimeout(r, 200));
  console.log(JSON.stringify({ collected, serverClients }));
  process.exit(0);
})();
`;

test('an open socket nobody holds keeps running; a closed one is collected', async () => {
  const stdout = await new Promise((resolve, reject) => {
    execFile(process.execPath, ['--expose-gc', '-e', CHILD_SOURCE], { timeout: 20000 }, (err, out, errOut) => {
      if (err) reject(new Error(`child failed: ${err.message}\n${errOut}`));
      else resolve(out);
    });
  });
  const lines = stdout.trim().split('\n').map((l) => JSON.parse(l));
  const result = lines.pop();
  expect(result.collected).toEqual(['closed']);
  expect(result.serverClients).toBe(1);
  expect(lines).toEqual([{ echoed: 'still here' }, { echoed: 'ping from server' }]);
});
