'use strict';

// A WebSocket "server" on raw TCP, for hostile-server tests: the test decides every byte
// the client receives (hand-built frames, lies about lengths, half responses, resets)
// and can read back, unmasked and parsed, every frame the client sends (e.g. to assert
// the close code the client chose).
//
// Everything waits with a deadline; stop() destroys every socket and rejects every
// pending wait.

const crypto = require('crypto');
const { WaitQueue } = require('./wait-queue');
const net = require('net');

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const DEFAULT_WAIT_MS = 5000;
const MAX_UPGRADE_BYTES = 64 * 1024;
// Frames from the client under test larger than this are treated as a protocol error
// rather than buffered: a test helper must not allocate what a broken client declares.
const MAX_CLIENT_FRAME = 64 * 1024 * 1024;

const OPCODES = {
  continuation: 0x0,
  text: 0x1,
  binary: 0x2,
  close: 0x8,
  ping: 0x9,
  pong: 0xa,
};

const STATUS_TEXT = {
  101: 'Switching Protocols',
  200: 'OK',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

/**
 * Computes `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key` (RFC 6455 §4.2.2).
 *
 * @param {string} key the client's Sec-WebSocket-Key
 * @returns {string} base64 SHA-1 of key + GUID
 */
function acceptKey(key) {
  return crypto.createHash('sha1').update(key + WS_GUID).digest('base64');
}

/**
 * Builds the payload of a close frame.
 *
 * @param {number} [code] status code; omitted → empty payload
 * @param {string|Buffer} [reason='']
 * @returns {Buffer}
 */
function closePayload(code, reason = '') {
  if (code === undefined) return Buffer.alloc(0);
  const r = Buffer.isBuffer(reason) ? reason : Buffer.from(reason, 'utf8');
  const buf = Buffer.alloc(2 + r.length);
  buf.writeUInt16BE(code, 0);
  r.copy(buf, 2);
  return buf;
}

/**
 * Builds one WebSocket frame, faithfully or with deliberate lies. Pure function.
 *
 * @param {object} [opts]
 * @param {boolean} [opts.fin=true]
 * @param {boolean} [opts.rsv1=false]
 * @param {boolean} [opts.rsv2=false]
 * @param {boolean} [opts.rsv3=false]
 * @param {number|string} [opts.opcode='text'] number 0..15 or a name
 *   (continuation, text, binary, close, ping, pong)
 * @param {boolean|Buffer} [opts.mask=false] true → random 4-byte key; a Buffer → that key.
 *   Servers must not mask; clients must.
 * @param {string|Buffer} [opts.payload=''] strings are UTF-8 encoded
 * @param {number|bigint} [opts.lengthOverride] the payload length written in the header,
 *   whatever the real payload is (e.g. `2n ** 40n` for a 1 TiB lie)
 * @param {'auto'|7|16|64} [opts.lengthEncoding='auto'] force a (possibly non-minimal)
 *   length encoding
 * @returns {Buffer} header + (masked) payload
 */
function buildFrame(opts = {}) {
  const {
    fin = true, rsv1 = false, rsv2 = false, rsv3 = false,
    mask = false, lengthOverride, lengthEncoding = 'auto',
  } = opts;
  let opcode = opts.opcode === undefined ? 'text' : opts.opcode;
  if (typeof opcode === 'string') {
    if (!(opcode in OPCODES)) throw new RangeError(`buildFrame: unknown opcode name '${opcode}'`);
    opcode = OPCODES[opcode];
  }
  if (!Number.isInteger(opcode) || opcode < 0 || opcode > 15) {
    throw new RangeError('buildFrame: opcode must be 0..15');
  }
  const payload = Buffer.isBuffer(opts.payload)
    ? opts.payload
    : Buffer.from(opts.payload === undefined ? '' : String(opts.payload), 'utf8');
  const declared = BigInt(lengthOverride === undefined ? payload.length : lengthOverride);
  if (declared < 0n || declared >= 2n ** 64n) throw new RangeError('buildFrame: length out of range');

  let encoding = lengthEncoding;
  if (encoding === 'auto') encoding = declared < 126n ? 7 : declared < 65536n ? 16 : 64;
  if (encoding === 7 && declared > 125n) throw new RangeError('buildFrame: length > 125 needs 16/64');
  if (encoding === 16 && declared > 65535n) throw new RangeError('buildFrame: length > 65535 needs 64');

  const extLen = encoding === 7 ? 0 : encoding === 16 ? 2 : 8;
  let key = null;
  if (mask) key = Buffer.isBuffer(mask) ? mask : crypto.randomBytes(4);
  if (key && key.length !== 4) throw new RangeError('buildFrame: mask key must be 4 bytes');

  const header = Buffer.alloc(2 + extLen + (key ? 4 : 0));
  header[0] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | (rsv2 ? 0x20 : 0) | (rsv3 ? 0x10 : 0) | opcode;
  const len7 = encoding === 7 ? Number(declared) : encoding === 16 ? 126 : 127;
  header[1] = (key ? 0x80 : 0) | len7;
  if (encoding === 16) header.writeUInt16BE(Number(declared), 2);
  if (encoding === 64) header.writeBigUInt64BE(declared, 2);

  let body = payload;
  if (key) {
    key.copy(header, 2 + extLen);
    body = Buffer.alloc(payload.length);
    for (let i = 0; i < payload.length; i += 1) body[i] = payload[i] ^ key[i & 3];
  }
  return Buffer.concat([header, body]);
}

/**
 * @typedef {object} ParsedFrame
 * @property {boolean} fin
 * @property {boolean} rsv1
 * @property {boolean} rsv2
 * @property {boolean} rsv3
 * @property {number} opcode
 * @property {string} type opcode name, or `reserved-<n>`
 * @property {boolean} masked
 * @property {Buffer} payload unmasked
 * @property {string} [text] payload as UTF-8 for text frames
 * @property {number} [code] close status code (close frames with a payload)
 * @property {string} [reason] close reason (close frames)
 */

/**
 * Parses as many complete frames as `buf` holds. Pure function.
 *
 * @param {Buffer} buf
 * @param {number} [maxPayload] default 64 MiB; larger declared lengths throw
 *   (`.code = 'EFRAMETOOBIG'`)
 * @returns {{ frames: ParsedFrame[], rest: Buffer }} parsed frames and the unparsed tail
 */
function parseFrames(buf, maxPayload = MAX_CLIENT_FRAME) {
  const frames = [];
  let offset = 0;
  for (;;) {
    if (buf.length - offset < 2) break;
    const b0 = buf[offset];
    const b1 = buf[offset + 1];
    const masked = (b1 & 0x80) !== 0;
    let len = b1 & 0x7f;
    let pos = offset + 2;
    if (len === 126) {
      if (buf.length < pos + 2) break;
      len = buf.readUInt16BE(pos);
      pos += 2;
    } else if (len === 127) {
      if (buf.length < pos + 8) break;
      const big = buf.readBigUInt64BE(pos);
      if (big > BigInt(maxPayload)) {
        const err = new Error(`frame declares ${big} bytes (limit ${maxPayload})`);
        err.code = 'EFRAMETOOBIG';
        throw err;
      }
      len = Number(big);
      pos += 8;
    }
    if (len > maxPayload) {
      const err = new Error(`frame declares ${len} bytes (limit ${maxPayload})`);
      err.code = 'EFRAMETOOBIG';
      throw err;
    }
    const keyLen = masked ? 4 : 0;
    if (buf.length < pos + keyLen + len) break;
    const key = masked ? buf.subarray(pos, pos + 4) : null;
    pos += keyLen;
    const payload = Buffer.from(buf.subarray(pos, pos + len));
    if (key) for (let i = 0; i < payload.length; i += 1) payload[i] ^= key[i & 3];
    pos += len;
    const opcode = b0 & 0x0f;
    const type = Object.keys(OPCODES).find((k) => OPCODES[k] === opcode) || `reserved-${opcode}`;
    const frame = {
      fin: (b0 & 0x80) !== 0,
      rsv1: (b0 & 0x40) !== 0,
      rsv2: (b0 & 0x20) !== 0,
      rsv3: (b0 & 0x10) !== 0,
      opcode,
      type,
      masked,
      payload,
    };
    if (opcode === OPCODES.text) frame.text = payload.toString('utf8');
    if (opcode === OPCODES.close) {
      if (payload.length >= 2) {
        frame.code = payload.readUInt16BE(0);
        frame.reason = payload.subarray(2).toString('utf8');
      } else {
        frame.reason = '';
      }
    }
    frames.push(frame);
    offset = pos;
  }
  return { frames, rest: buf.subarray(offset) };
}


/**
 * One accepted TCP connection, driven by the test.
 */
class RawConnection {
  /**
   * @param {net.Socket} socket
   * @param {number} index 1-based accept order
   */
  constructor(socket, index) {
    this.socket = socket;
    this.index = index;
    /** @type {object|null} the parsed upgrade request once read */
    this.request = null;
    /** @type {ParsedFrame[]} every frame received from the client, in order */
    this.received = [];
    /** @type {Error|null} set if the client sent something unparseable */
    this.protocolError = null;
    this.upgraded = false;
    this.closed = false;
    this.buffer = Buffer.alloc(0);
    this.frameQueue = new WaitQueue();
    this.requestWaiters = [];
    this.closedPromise = new Promise((resolve) => { this.resolveClosed = resolve; });

    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', (err) => { this.socketError = err; });
    const noMoreInput = () => {
      const err = new Error(`connection #${index} closed`);
      err.code = 'ECONNCLOSED_TEST';
      this.frameQueue.end(err);
      for (const w of this.requestWaiters.splice(0)) w.reject(err);
    };
    // After the client's FIN no frame can follow, even if our side stays half-open.
    socket.on('end', noMoreInput);
    socket.on('close', () => {
      this.closed = true;
      noMoreInput();
      this.resolveClosed();
    });
  }

  /** Buffers input: HTTP until the upgrade is accepted, frames after. */
  onData(chunk) {
    if (this.ignoreInput) return;
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    if (!this.upgraded) {
      if (this.request) {
        // Request read but not upgraded (HTTP answer, half response...): keep a bounded tail.
        if (this.buffer.length > MAX_UPGRADE_BYTES) this.buffer = Buffer.alloc(0);
        return;
      }
      this.tryParseRequest();
      return;
    }
    this.parseIncomingFrames();
  }

  /** Parses the upgrade request once its header block is complete. */
  tryParseRequest() {
    if (this.request) return;
    const end = this.buffer.indexOf('\r\n\r\n');
    if (end === -1) {
      if (this.buffer.length > MAX_UPGRADE_BYTES) {
        this.protocolError = new Error('upgrade request too large');
        this.socket.destroy();
      }
      return;
    }
    const head = this.buffer.subarray(0, end).toString('latin1');
    this.buffer = this.buffer.subarray(end + 4);
    const [requestLine, ...headerLines] = head.split('\r\n');
    const [method, path, httpVersion] = requestLine.split(' ');
    const headers = {};
    const rawHeaders = [];
    for (const line of headerLines) {
      const colon = line.indexOf(':');
      if (colon === -1) continue;
      const name = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      rawHeaders.push([name, value]);
      const lower = name.toLowerCase();
      headers[lower] = lower in headers ? `${headers[lower]}, ${value}` : value;
    }
    const url = new URL(path || '/', 'http://raw.invalid');
    this.request = {
      method,
      path,
      pathname: url.pathname,
      query: Object.fromEntries(url.searchParams),
      httpVersion,
      headers,
      rawHeaders,
      key: headers['sec-websocket-key'],
      protocols: (headers['sec-websocket-protocol'] || '')
        .split(',').map((s) => s.trim()).filter(Boolean),
    };
    for (const w of this.requestWaiters.splice(0)) w.resolve(this.request);
  }

  /** Moves every complete client frame from the buffer to the frame queue. */
  parseIncomingFrames() {
    if (this.protocolError) return;
    try {
      const { frames, rest } = parseFrames(this.buffer);
      this.buffer = rest;
      for (const f of frames) {
        this.received.push(f);
        this.frameQueue.push(f);
      }
    } catch (err) {
      this.protocolError = err;
      this.frameQueue.end(err);
    }
  }

  /**
   * Waits for and parses the client's HTTP upgrade request.
   *
   * @param {number} [ms=5000]
   * @returns {Promise<{method: string, path: string, pathname: string, query: object,
   *   httpVersion: string, headers: object, rawHeaders: string[][], key: string,
   *   protocols: string[]}>} headers are keyed by lower-case name
   */
  readUpgrade(ms = DEFAULT_WAIT_MS) {
    if (this.request) return Promise.resolve(this.request);
    if (this.closed) return Promise.reject(new Error(`connection #${this.index} closed before the upgrade`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.requestWaiters.indexOf(waiter);
        if (i !== -1) this.requestWaiters.splice(i, 1);
        const err = new Error(`Timed out after ${ms} ms waiting for the upgrade request on connection #${this.index}`);
        err.code = 'ETIMEDOUT_TEST';
        reject(err);
      }, ms);
      const waiter = {
        resolve: (r) => { clearTimeout(timer); resolve(r); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      };
      this.requestWaiters.push(waiter);
    });
  }

  /**
   * Writes a 101 response. Reads the upgrade request first if not done yet.
   *
   * @param {object} [opts]
   * @param {string} [opts.protocol] Sec-WebSocket-Protocol to answer
   * @param {object|string[][]} [opts.extraHeaders] more headers (object or [name, value] pairs)
   * @param {boolean|string} [opts.badAccept=false] true → a wrong accept value; a string → that value
   * @param {boolean} [opts.omitAccept=false] leave out Sec-WebSocket-Accept entirely
   * @param {number} [opts.ms=5000] deadline for reading the request
   * @returns {Promise<void>} resolves when the response is flushed
   */
  async acceptUpgrade(opts = {}) {
    const req = await this.readUpgrade(opts.ms);
    let accept = acceptKey(req.key || '');
    if (opts.badAccept === true) accept = acceptKey(`${req.key || ''}-wrong`);
    else if (typeof opts.badAccept === 'string') accept = opts.badAccept;
    const lines = [
      'HTTP/1.1 101 Switching Protocols',
      'Upgrade: websocket',
      'Connection: Upgrade',
    ];
    if (!opts.omitAccept) lines.push(`Sec-WebSocket-Accept: ${accept}`);
    if (opts.protocol) lines.push(`Sec-WebSocket-Protocol: ${opts.protocol}`);
    for (const [k, v] of headerPairs(opts.extraHeaders)) lines.push(`${k}: ${v}`);
    this.upgraded = true;
    // Frames the client pipelined right after its request are already buffered.
    this.parseIncomingFrames();
    await this.writeRaw(`${lines.join('\r\n')}\r\n\r\n`);
  }

  /**
   * Starts parsing client bytes as frames without writing anything: for tests that write
   * their own (possibly broken) 101 response with writeRaw().
   */
  markUpgraded() {
    this.upgraded = true;
    this.parseIncomingFrames();
  }

  /**
   * Answers the upgrade with a plain HTTP response and ends the connection.
   *
   * @param {number} status e.g. 401, 503
   * @param {object|string[][]} [headers] e.g. `{ 'Retry-After': '7' }`
   * @param {string|Buffer} [body='']
   * @returns {Promise<void>} resolves when flushed and ended
   */
  async respondHttp(status, headers = {}, body = '') {
    const bodyBuf = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
    const lines = [`HTTP/1.1 ${status} ${STATUS_TEXT[status] || 'Status'}`];
    const pairs = headerPairs(headers);
    const has = (n) => pairs.some(([k]) => k.toLowerCase() === n);
    if (!has('content-length')) pairs.push(['Content-Length', String(bodyBuf.length)]);
    if (!has('connection')) pairs.push(['Connection', 'close']);
    for (const [k, v] of pairs) lines.push(`${k}: ${v}`);
    await this.writeRaw(Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), bodyBuf]));
    await this.end();
  }

  /** Keeps the connection open and silent; whatever the client sends is discarded. */
  neverAnswer() {
    this.ignoreInput = true;
    this.buffer = Buffer.alloc(0);
  }

  /**
   * Writes raw bytes.
   *
   * @param {Buffer|string} data strings are written as latin1 (byte-exact)
   * @returns {Promise<void>} resolves when handed to the kernel; rejects if the socket is gone
   */
  writeRaw(data) {
    const buf = Buffer.isBuffer(data) ? data : Buffer.from(data, 'latin1');
    return new Promise((resolve, reject) => {
      if (this.socket.destroyed || !this.socket.writable) {
        reject(new Error(`connection #${this.index} is not writable`));
        return;
      }
      this.socket.write(buf, (err) => (err ? reject(err) : resolve()));
    });
  }

  /**
   * Builds a frame with buildFrame(opts) and writes it.
   *
   * @param {object} opts see buildFrame
   * @returns {Promise<Buffer>} the bytes written
   */
  async frame(opts) {
    const buf = buildFrame(opts);
    await this.writeRaw(buf);
    return buf;
  }

  /**
   * @param {string} text
   * @returns {Promise<Buffer>}
   */
  sendText(text) {
    return this.frame({ opcode: 'text', payload: text });
  }

  /**
   * @param {Buffer} data
   * @returns {Promise<Buffer>}
   */
  sendBinary(data) {
    return this.frame({ opcode: 'binary', payload: data });
  }

  /**
   * @param {string|Buffer} [payload='']
   * @returns {Promise<Buffer>}
   */
  sendPing(payload = '') {
    return this.frame({ opcode: 'ping', payload });
  }

  /**
   * @param {number} [code] omitted → empty close payload
   * @param {string} [reason='']
   * @returns {Promise<Buffer>}
   */
  sendClose(code, reason = '') {
    return this.frame({ opcode: 'close', payload: closePayload(code, reason) });
  }

  /**
   * Writes `data` a few bytes at a time, one write per tick (timer of `intervalMs`),
   * so the client sees it in many TCP segments. Bounded by the data length; stops
   * early (resolving) if the socket goes away.
   *
   * @param {Buffer|string} data
   * @param {number} [bytesPerTick=1]
   * @param {number} [intervalMs=1]
   * @returns {Promise<void>}
   */
  async trickle(data, bytesPerTick = 1, intervalMs = 1) {
    const buf = Buffer.isBuffer(data) ? data : Buffer.from(data, 'latin1');
    for (let i = 0; i < buf.length; i += bytesPerTick) {
      if (this.socket.destroyed) return;
      await this.writeRaw(buf.subarray(i, i + bytesPerTick));
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }

  /**
   * Waits for the next frame from the client.
   *
   * @param {number} [ms=5000]
   * @returns {Promise<ParsedFrame>} rejects on timeout or when the connection closes first
   */
  nextFrame(ms = DEFAULT_WAIT_MS) {
    return this.frameQueue.next(ms, `a frame from the client on connection #${this.index}`);
  }

  /**
   * Async iterator over client frames; ends when the connection closes. Each step
   * waits at most `ms` (then throws).
   *
   * @param {number} [ms=5000] per-frame deadline
   * @returns {AsyncIterableIterator<ParsedFrame>}
   */
  readFrames(ms = DEFAULT_WAIT_MS) {
    const conn = this;
    return {
      [Symbol.asyncIterator]() { return this; },
      async next() {
        try {
          return { value: await conn.nextFrame(ms), done: false };
        } catch (err) {
          if (err.code === 'ECONNCLOSED_TEST') return { value: undefined, done: true };
          throw err;
        }
      },
      async return() { return { value: undefined, done: true }; },
    };
  }

  /**
   * Waits for the client's close frame, skipping other frames.
   *
   * @param {number} [ms=5000]
   * @returns {Promise<ParsedFrame>} with `.code` / `.reason`
   */
  async waitForClose(ms = DEFAULT_WAIT_MS) {
    const deadline = Date.now() + ms;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`Timed out after ${ms} ms waiting for a close frame on connection #${this.index}`);
      const f = await this.nextFrame(left);
      if (f.opcode === OPCODES.close) return f;
    }
  }

  /**
   * Waits until the TCP connection is closed (by either side).
   *
   * @param {number} [ms=5000]
   * @returns {Promise<void>}
   */
  waitClosed(ms = DEFAULT_WAIT_MS) {
    let timer;
    return Promise.race([
      this.closedPromise,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms waiting for connection #${this.index} to close`)), ms);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  /**
   * Half-closes (FIN) and destroys the socket if the peer does not close within 1 s.
   *
   * @returns {Promise<void>} resolves once the FIN is written
   */
  end() {
    return new Promise((resolve) => {
      if (this.socket.destroyed) { resolve(); return; }
      this.socket.end(() => resolve());
      const t = setTimeout(() => this.socket.destroy(), 1000);
      t.unref();
      this.socket.once('close', () => clearTimeout(t));
    });
  }

  /** Destroys the socket (FIN after pending writes are dropped). */
  destroy() {
    this.socket.destroy();
  }

  /** Destroys the socket with a TCP RST. */
  reset() {
    if (!this.socket.destroyed) this.socket.resetAndDestroy();
  }
}

/**
 * Normalizes headers given as an object or as [name, value] pairs.
 *
 * @param {object|string[][]} [headers]
 * @returns {string[][]}
 */
function headerPairs(headers) {
  if (!headers) return [];
  if (Array.isArray(headers)) return headers.map(([k, v]) => [k, String(v)]);
  return Object.entries(headers).map(([k, v]) => [k, String(v)]);
}

/**
 * @typedef {object} RawServer
 * @property {number} port
 * @property {RawConnection[]} connections every accepted connection, in order
 * @property {Error[]} errors errors thrown/rejected by onConnection
 * @property {string} url `ws://127.0.0.1:<port>/`
 * @property {(pathAndQuery?: string) => string} urlFor
 * @property {(ms?: number) => Promise<RawConnection>} nextConnection
 * @property {() => Promise<void>} stop
 */

/**
 * Starts a raw TCP server on 127.0.0.1, port 0.
 *
 * @param {object} [opts]
 * @param {(conn: RawConnection) => (void|Promise<void>)} [opts.onConnection] script for each
 *   connection; a throw/rejection is recorded in `srv.errors` and the socket destroyed
 * @param {boolean} [opts.allowHalfOpen=false] keep our side writable after the client's FIN
 *   (default: Node ends our side too, so the connection closes)
 * @returns {Promise<RawServer>}
 */
async function startRawServer(opts = {}) {
  const connections = [];
  const errors = [];
  const sockets = new Set();
  const connQueue = new WaitQueue();
  let stopped = false;

  const server = net.createServer({ allowHalfOpen: !!opts.allowHalfOpen }, (socket) => {
    if (stopped) { socket.destroy(); return; }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const conn = new RawConnection(socket, connections.length + 1);
    connections.push(conn);
    connQueue.push(conn);
    if (opts.onConnection) {
      Promise.resolve()
        .then(() => opts.onConnection(conn))
        .catch((err) => {
          // After stop(), pending waits reject by design: not a test failure.
          if (!stopped) errors.push(err);
          socket.destroy();
        });
    }
  });
  server.on('error', () => {});
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address();

  return {
    port,
    connections,
    errors,
    url: `ws://127.0.0.1:${port}/`,
    /**
     * @param {string} [pathAndQuery='/']
     * @returns {string}
     */
    urlFor(pathAndQuery = '/') {
      return `ws://127.0.0.1:${port}${pathAndQuery.startsWith('/') ? '' : '/'}${pathAndQuery}`;
    },
    /**
     * Waits for the next accepted connection (consumes it from a queue; every accepted
     * connection is delivered exactly once, including ones accepted before the call).
     *
     * @param {number} [ms=5000]
     * @returns {Promise<RawConnection>}
     */
    nextConnection(ms = DEFAULT_WAIT_MS) {
      return connQueue.next(ms, 'a connection to the raw server');
    },
    /** @returns {Promise<void>} closes the listener and destroys every socket; idempotent */
    async stop() {
      if (stopped) return;
      stopped = true;
      connQueue.end(new Error('raw server stopped'));
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

module.exports = {
  startRawServer,
  buildFrame,
  parseFrames,
  closePayload,
  acceptKey,
  OPCODES,
  RawConnection,
};
