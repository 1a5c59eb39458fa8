'use strict';

/**
 * The server companion's throughput, memory store vs Redis store:
 *   - fan-out: events/s published by one ResilientServer and delivered to every one of 1,000
 *     connected clients (a delivery = one event reaching one client);
 *   - replay: a client resuming from id 0 gets 100,000 retained events.
 *
 *   npm run bench:server
 *   node bench/server-fanout.js [--clients=1000] [--events=2000] [--replay=100000] [--rounds=3] [--store=memory,redis]
 *
 * This process is the server (one ResilientServer, the store under test, default options except
 * ping off). The clients are plain `ws` clients (not resilient-ws: this measures the server, and
 * 1,000 native sockets would only add their own cost) in one separate child process, so client
 * work does not share the server's event loop. Redis: a redis-server started here on a free port
 * (no persistence), stopped at the end. Each cell is the median of the rounds, [min–max] beside.
 * Writes bench/results/server-fanout.md. Absolute numbers on a shared machine are noise; compare
 * the two stores within one run.
 */

const fs = require('fs');
const os = require('os');
const path = require('path');
const { fork } = require('child_process');
const { ResilientServer, MemoryStore } = require('../lib/server');

const arg = (name, fallback) => {
  const found = process.argv.find((a) => a.startsWith(`--${name}=`));
  return found ? found.split('=')[1] : fallback;
};
const CLIENTS = Number(arg('clients', 1000));
const EVENTS = Number(arg('events', 2000));
const REPLAY = Number(arg('replay', 100000));
const ROUNDS = Number(arg('rounds', 3));
const STORES = arg('store', 'memory,redis').split(',');
const PAYLOAD = { sym: 'ACME', px: 101.25, qty: 300, side: 'buy', venue: 'XNAS' }; // ~70 B of JSON

function reply(child, field) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`client process: no '${field}' within 120 s`)), 120000);
    const on = (m) => {
      if (m && m[field] !== undefined) {
        clearTimeout(timer);
        child.off('message', on);
        resolve(m);
      }
    };
    child.on('message', on);
  });
}

async function ask(child, message, field) {
  const r = reply(child, field);
  child.send(message);
  return r;
}

/** Publishes `n` events keeping at most `window` publishes in flight (Redis round trips overlap). */
async function publishMany(server, n, window = 256) {
  let next = 0;
  const lane = async () => {
    while (next < n) {
      next += 1;
      await server.publish(PAYLOAD);
    }
  };
  await Promise.all(Array.from({ length: Math.min(window, n) }, lane));
}

async function makeStore(kind, redis) {
  if (kind === 'memory') return new MemoryStore({ firstId: 1, maxEvents: REPLAY + EVENTS * ROUNDS + 10, maxBytes: 2 ** 40 });
  const { RedisStore } = require('../lib/server');
  return new RedisStore({ redis: redis.url, firstId: 1, prefix: `bench${Date.now()}:`, maxEvents: REPLAY * 2 });
}

async function measure(kind, redis, clientProc) {
  const store = await makeStore(kind, redis);
  const server = new ResilientServer({ port: 0, host: '127.0.0.1', store, ping: false });
  await server.listening;
  const url = `ws://127.0.0.1:${server.port}/`;
  const out = { fanout: [], replay: [] };

  await ask(clientProc, { connect: url, n: CLIENTS }, 'connected');
  for (let round = 0; round < ROUNDS; round++) {
    await ask(clientProc, { expect: EVENTS }, 'armed');
    const finished = reply(clientProc, 'done');
    const t0 = Date.now();
    await publishMany(server, EVENTS);
    const { at } = await finished;
    out.fanout.push(EVENTS / ((at - t0) / 1000));
  }
  await ask(clientProc, { close: true }, 'closed');

  // Replay: fill the stream to REPLAY events after 0, then one client resumes from 0.
  const { latest } = await store.read('default', 0, 1);
  await publishMany(server, REPLAY - latest);
  for (let round = 0; round < ROUNDS; round++) {
    await ask(clientProc, { expect: REPLAY }, 'armed');
    const finished = reply(clientProc, 'done');
    const t0 = Date.now();
    await ask(clientProc, { connect: `${url}?after=0`, n: 1 }, 'connected');
    const { at } = await finished;
    out.replay.push({ ms: at - t0, rate: REPLAY / ((at - t0) / 1000) });
    await ask(clientProc, { close: true }, 'closed');
  }
  await server.close();
  await store.close();
  return out;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const k = (x) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)}k` : x.toFixed(0));
const range = (xs, f) => `[${f(Math.min(...xs))}–${f(Math.max(...xs))}]`;

async function main() {
  const clientProc = fork(path.join(__dirname, 'server-fanout-clients.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let redis = null;
  const results = {};
  try {
    for (const kind of STORES) {
      if (kind === 'redis') {
        const { startRedis, redisAvailable } = require('../test/server/support');
        if (!redisAvailable()) {
          console.log('redis: skipped (redis-server or ioredis missing)');
          continue;
        }
        redis = await startRedis();
      }
      process.stdout.write(`${kind}: `);
      results[kind] = await measure(kind, redis, clientProc);
      console.log('done');
    }
  } finally {
    clientProc.kill();
    if (redis) await redis.stop();
  }

  const lines = [
    `# Server companion: fan-out and replay (${new Date().toISOString().slice(0, 10)})`,
    '',
    `${os.cpus()[0].model} ×${os.cpus().length}, Node ${process.version}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} at the end.`,
    `${CLIENTS} plain \`ws\` clients in one child process; ${EVENTS} events of ~70 B per fan-out round; replay of ${REPLAY} events to one client from id 0; ${ROUNDS} rounds, median [min–max].`,
    '',
    `| store | fan-out: events/s to all clients | deliveries/s | replay of ${REPLAY.toLocaleString("en-US")} events: time | replay: events/s |`,
    '|---|---|---|---|---|',
  ];
  for (const [kind, r] of Object.entries(results)) {
    const f = median(r.fanout);
    const rm = median(r.replay.map((x) => x.ms));
    const rr = median(r.replay.map((x) => x.rate));
    lines.push(`| ${kind} | ${k(f)} ${range(r.fanout, k)} | ${k(f * CLIENTS)} | ${rm} ms ${range(r.replay.map((x) => x.ms), (x) => `${x}`)} | ${k(rr)} |`);
  }
  const md = `${lines.join('\n')}\n`;
  process.stdout.write(`\n${md}`);
  fs.mkdirSync(path.join(__dirname, 'results'), { recursive: true });
  fs.writeFileSync(path.join(__dirname, 'results', 'server-fanout.md'), md);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
