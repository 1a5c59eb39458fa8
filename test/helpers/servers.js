'use strict';

// Real peers for tests, built on the `ws` server: a plain echo server that records every
// handshake and can refuse it with any status, a TLS server for certificate tests, and a
// TCP server that accepts connections and never answers the upgrade.
//
// Each listens on 127.0.0.1, port 0, and its close()/stop() releases every socket.

const http = require('http');
const { WaitQueue } = require('./wait-queue');
const https = require('https');
const net = require('net');
const { WebSocketServer } = require('ws');

const DEFAULT_WAIT_MS = 5000;

/**
 * Listens on 127.0.0.1:0 and resolves with the port.
 *
 * @param {net.Server} server
 * @returns {Promise<number>}
 */
function listenLoopback(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      server.off('error', reject);
      resolve(server.address().port);
    });
  });
}

/**
 * Tracks raw sockets of an http(s) server so close() can destroy them (keep-alive and
 * upgraded sockets would otherwise keep server.close() waiting).
 *
 * @param {net.Server} server
 * @param {string} event 'connection' or 'secureConnection'
 * @returns {Set<net.Socket>}
 */
function trackSockets(server, event = 'connection') {
  const sockets = new Set();
  server.on(event, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return sockets;
}

/**
 * @typedef {object} HandshakeRecord
 * @property {string} url request target, e.g. `/feed?after=3`
 * @property {object} headers request headers (lower-case names)
 * @property {string[]} protocols subprotocols the client offered
 * @property {number|null} rejectedWith status sent instead of 101, or null if accepted
 */

/**
 * @typedef {object} WsConnection
 * @property {import('ws').WebSocket} ws server side of the connection
 * @property {string} url
 * @property {object} headers
 * @property {string[]} protocols offered
 * @property {string} protocol chosen ('' if none)
 * @property {Array<{data: string|Buffer, isBinary: boolean}>} messages received, in order
 */

/**
 * @typedef {{status: number, headers?: object, message?: string}} Rejection
 */

/**
 * Makes the shared part of a `ws` server: recording, optional rejection, echo.
 *
 * @param {http.Server|https.Server} server
 * @param {object} opts see startWsServer
 * @returns {object}
 */
function wireWsServer(server, opts) {
  let reject = opts.reject || null;
  const handshakes = [];
  const connections = [];
  const connQueue = new WaitQueue('a WebSocket connection');
  const echo = opts.echo !== false;

  const wss = new WebSocketServer({
    server,
    maxPayload: opts.maxPayload,
    perMessageDeflate: opts.perMessageDeflate || false,
    handleProtocols: opts.handleProtocols,
    verifyClient: (info, cb) => {
      const { req } = info;
      const record = {
        url: req.url,
        headers: { ...req.headers },
        protocols: (req.headers['sec-websocket-protocol'] || '')
          .split(',').map((s) => s.trim()).filter(Boolean),
        rejectedWith: null,
      };
      handshakes.push(record);
      const answer = typeof reject === 'function' ? reject(req) : reject;
      if (answer) {
        record.rejectedWith = answer.status;
        cb(false, answer.status, answer.message, answer.headers);
      } else {
        cb(true);
      }
    },
  });

  wss.on('connection', (ws, req) => {
    const conn = {
      ws,
      url: req.url,
      headers: { ...req.headers },
      protocols: (req.headers['sec-websocket-protocol'] || '')
        .split(',').map((s) => s.trim()).filter(Boolean),
      protocol: ws.protocol,
      messages: [],
    };
    connections.push(conn);
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => {
      const value = isBinary ? data : data.toString('utf8');
      conn.messages.push({ data: value, isBinary });
      if (echo && ws.readyState === ws.OPEN) ws.send(data, { binary: isBinary });
    });
    if (opts.onConnection) opts.onConnection(ws, req, conn);
    connQueue.push(conn);
  });
  wss.on('error', () => {});

  return {
    wss,
    handshakes,
    connections,
    /**
     * @param {number} [ms=5000]
     * @returns {Promise<WsConnection>} next accepted connection (queued, none missed)
     */
    nextConnection: (ms = DEFAULT_WAIT_MS) => connQueue.next(ms),
    /** @param {Rejection|((req: http.IncomingMessage) => Rejection|null)|null} next */
    setReject(next) { reject = next; },
    /** Closes every open connection without a close frame (TCP destroyed). */
    terminateAll() { for (const ws of wss.clients) ws.terminate(); },
    /**
     * Sends a close frame to every open connection.
     *
     * @param {number} [code=1001]
     * @param {string} [reason='']
     */
    closeAll(code = 1001, reason = '') { for (const ws of wss.clients) ws.close(code, reason); },
    /** @returns {number} open connections */
    clientCount: () => wss.clients.size,
    connQueue,
  };
}

/**
 * Closes a ws server and its http(s) server, destroying every socket.
 *
 * @param {WebSocketServer} wss
 * @param {net.Server} server
 * @param {Set<net.Socket>} sockets
 * @param {WaitQueue} connQueue
 * @returns {Promise<void>}
 */
async function closeAllOf(wss, server, sockets, connQueue) {
  connQueue.end(new Error('server closed'));
  for (const ws of wss.clients) ws.terminate();
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => wss.close(() => resolve()));
  await new Promise((resolve) => server.close(() => resolve()));
}

/**
 * Starts a plain `ws` server on 127.0.0.1:0 that echoes text and binary by default and
 * records every handshake.
 *
 * @param {object} [opts]
 * @param {boolean} [opts.echo=true] echo each message back with its type
 * @param {Rejection|((req: http.IncomingMessage) => Rejection|null)} [opts.reject] refuse
 *   handshakes, e.g. `{ status: 503, headers: { 'Retry-After': '7' } }` or `{ status: 401 }`;
 *   change later with `setReject()`
 * @param {(offered: Set<string>, req: http.IncomingMessage) => string|false} [opts.handleProtocols]
 *   default (ws): the first offered subprotocol
 * @param {(ws: import('ws').WebSocket, req: http.IncomingMessage, conn: WsConnection) => void} [opts.onConnection]
 * @param {number} [opts.maxPayload] ws option
 * @param {boolean|object} [opts.perMessageDeflate=false] ws option
 * @returns {Promise<{wss: WebSocketServer, port: number, url: string,
 *   urlFor: (pathAndQuery?: string) => string, handshakes: HandshakeRecord[], connections: WsConnection[],
 *   nextConnection: (ms?: number) => Promise<WsConnection>, setReject: Function,
 *   terminateAll: () => void, closeAll: (code?: number, reason?: string) => void,
 *   clientCount: () => number, close: () => Promise<void>}>}
 */
async function startWsServer(opts = {}) {
  const server = http.createServer((req, res) => {
    res.writeHead(426, { 'Content-Type': 'text/plain' });
    res.end('WebSocket only\n');
  });
  const sockets = trackSockets(server);
  const parts = wireWsServer(server, opts);
  const port = await listenLoopback(server);
  let closed = false;
  const { connQueue, ...api } = parts;
  return {
    ...api,
    port,
    url: `ws://127.0.0.1:${port}/`,
    urlFor: (pathAndQuery = '/') => `ws://127.0.0.1:${port}${pathAndQuery.startsWith('/') ? '' : '/'}${pathAndQuery}`,
    async close() {
      if (closed) return;
      closed = true;
      await closeAllOf(parts.wss, server, sockets, connQueue);
    },
  };
}

/**
 * Starts a `ws` server over HTTPS on 127.0.0.1:0 (echo by default, same options and
 * recording as startWsServer). Its url uses the host name `localhost` so hostname
 * verification applies.
 *
 * @param {object} opts
 * @param {string|Buffer} opts.cert PEM certificate (chain) to serve
 * @param {string|Buffer} opts.key PEM private key
 * @param {string|Buffer} [opts.ca] extra chain / client CA
 * @param {object} [opts.tlsOptions] more https.createServer options (minVersion, sessionTimeout, …)
 * @returns {Promise<{wss: WebSocketServer, port: number, url: string,
 *   urlFor: (pathAndQuery?: string) => string, handshakes: HandshakeRecord[],
 *   connections: WsConnection[], tlsErrors: Error[], close: () => Promise<void>}>}
 */
async function startTlsWsServer(opts) {
  if (!opts || !opts.cert || !opts.key) throw new TypeError('startTlsWsServer: cert and key are required');
  const server = https.createServer({ cert: opts.cert, key: opts.key, ca: opts.ca, ...opts.tlsOptions });
  const sockets = trackSockets(server, 'connection');
  const tlsErrors = [];
  // A client that rejects our certificate aborts the handshake; record it, never throw.
  server.on('tlsClientError', (err) => tlsErrors.push(err));
  const parts = wireWsServer(server, opts);
  const port = await listenLoopback(server);
  let closed = false;
  const { connQueue, ...api } = parts;
  const urlFor = (pathAndQuery = '/') => `wss://localhost:${port}${pathAndQuery.startsWith('/') ? '' : '/'}${pathAndQuery}`;
  return {
    ...api,
    port,
    url: urlFor('/'),
    urlFor,
    tlsErrors,
    async close() {
      if (closed) return;
      closed = true;
      await closeAllOf(parts.wss, server, sockets, connQueue);
    },
  };
}

/**
 * Starts a TCP server that accepts connections, reads and discards everything, and
 * never answers: the upgrade never completes (for connectTimeout tests).
 *
 * @returns {Promise<{port: number, url: string, urlFor: (pathAndQuery?: string) => string,
 *   accepted: number, connections: () => number, stop: () => Promise<void>}>}
 */
async function startTcpBlackholeServer() {
  const sockets = new Set();
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    socket.resume(); // discard input so the client's writes never block
  });
  const port = await listenLoopback(server);
  let stopped = false;
  return {
    port,
    get accepted() { return accepted; },
    url: `ws://127.0.0.1:${port}/`,
    urlFor: (pathAndQuery = '/') => `ws://127.0.0.1:${port}${pathAndQuery.startsWith('/') ? '' : '/'}${pathAndQuery}`,
    connections: () => sockets.size,
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

module.exports = { startWsServer, startTlsWsServer, startTcpBlackholeServer };
