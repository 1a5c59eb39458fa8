'use strict';

// Shared plumbing for the resume tests: a registry that releases every socket,
// server and child process a test made, a message recorder, and a replay server that
// deliberately replays a few events the client already has (to exercise dedupe).

const http = require('http');
const path = require('path');
const { WebSocketServer } = require('ws');
const { ResilientSocket } = require('../../lib');
const { waitFor } = require('../helpers/deadline');

const REPO = path.resolve(__dirname, '..', '..');
const EVENT_MS = 5000;

/** Reconnect settings short enough that twenty drops fit in a few seconds. */
const FAST_RECONNECT = { initialDelay: 20, maxDelay: 200 };

const { makeTracker } = require('../helpers/tracker');

/**
 * Records what the application sees: every message (parsed) with its info, in order.
 *
 * @param {ResilientSocket} sock
 * @returns {{all: Array<{json: any, info: {id?: string, replayed: boolean}}>, ids: number[],
 *   lastId: () => number}} `ids`: numeric ids of messages that carried one, in delivery order
 */
function recordMessages(sock) {
  const all = [];
  const ids = [];
  sock.on('message', (data, info) => {
    let json = null;
    try { json = JSON.parse(data); } catch { json = null; }
    all.push({ json, info });
    if (info.id !== undefined) ids.push(Number(info.id));
  });
  return { all, ids, lastId: () => (ids.length ? ids[ids.length - 1] : 0) };
}

/**
 * Describes the first place where `ids` is not exactly first..last, one each, in order.
 *
 * @param {number[]} ids
 * @param {number} first
 * @param {number} last
 * @returns {string} '' when ids is exactly [first..last]
 */
function sequenceProblem(ids, first, last) {
  if (ids.length === 0 && last < first) return '';
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] !== first + i) {
      const kind = ids[i] <= first + i - 1 ? 'duplicate or out of order' : 'gap';
      return `${kind} at position ${i}: expected ${first + i}, got ${ids[i]} (…${ids.slice(Math.max(0, i - 3), i + 3).join(',')}…)`;
    }
  }
  if (ids.length !== last - first + 1) return `expected ids ${first}..${last}, got ${ids.length} ids ending at ${ids[ids.length - 1]}`;
  return '';
}

/** @returns {number|null} the `after` query parameter of a request target such as `/?after=42` */
function afterParam(target) {
  const value = new URL(target, 'http://x.invalid').searchParams.get('after');
  return value === null ? null : Number(value);
}

/**
 * A replay server that, like servers replaying "since a timestamp", sends the last
 * `overlap` events the client already has before the ones it missed, so every resume
 * produces exactly min(overlap, after) duplicates for the client to drop.
 * Events are `{"id":n,"type":"event"}`; every event is kept.
 *
 * @param {{overlap: number}} opts
 * @returns {Promise<{url: string, port: number, log: Array<{after: number|null, from: number}>,
 *   head: number, publish: () => number, start: (hz: number) => void, stop: () => void,
 *   close: () => Promise<void>}>}
 */
async function startOverlapServer({ overlap }) {
  const events = []; // events[i] is id i + 1
  const clients = new Set();
  const log = [];
  let ticker = null;
  const httpServer = http.createServer();
  const wss = new WebSocketServer({ server: httpServer, perMessageDeflate: false });
  wss.on('error', () => {});
  wss.on('connection', (ws, req) => {
    ws.on('error', () => {});
    const raw = new URL(req.url, 'http://x.invalid').searchParams.get('after');
    const after = raw === null ? null : Number(raw);
    const from = after === null ? events.length + 1 : Math.max(1, after - overlap + 1);
    log.push({ after, from });
    for (let id = from; id <= events.length; id++) ws.send(events[id - 1]);
    clients.add(ws);
    ws.on('close', () => clients.delete(ws));
  });
  await new Promise((resolve) => httpServer.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const { port } = httpServer.address();
  const server = {
    port,
    url: `ws://127.0.0.1:${port}/`,
    log,
    get head() { return events.length; },
    publish() {
      const text = JSON.stringify({ id: events.length + 1, type: 'event' });
      events.push(text);
      for (const ws of clients) if (ws.readyState === ws.OPEN) ws.send(text);
      return events.length;
    },
    start(hz) {
      server.stop();
      let nextAt = Date.now();
      const tick = () => {
        for (let burst = 0; nextAt <= Date.now() && burst < 100; burst++, nextAt += 1000 / hz) server.publish();
        ticker = setTimeout(tick, Math.max(0, nextAt - Date.now()));
      };
      tick();
    },
    stop() {
      clearTimeout(ticker);
      ticker = null;
    },
    async close() {
      server.stop();
      for (const ws of clients) ws.terminate();
      await new Promise((resolve) => wss.close(() => resolve()));
      await new Promise((resolve) => httpServer.close(() => resolve()));
    },
  };
  return server;
}

/** Waits until the recorder holds `id` (or beyond), with a readable timeout message. */
function waitForId(rec, id, ms = 10000) {
  return waitFor(() => {
    if (rec.lastId() >= id) return true;
    throw new Error(`last id seen is ${rec.lastId()}`); // appended to the timeout message
  }, ms, `event id ${id}`);
}

module.exports = {
  REPO,
  EVENT_MS,
  FAST_RECONNECT,
  makeTracker,
  recordMessages,
  sequenceProblem,
  afterParam,
  startOverlapServer,
  waitForId,
};
