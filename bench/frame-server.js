'use strict';

/**
 * The far end of every benchmark: a raw `net` WebSocket server that does the
 * upgrade itself and speaks just enough of RFC 6455 to drive the client under
 * test as hard as it can.
 *
 * It runs as a separate process (bench/run.js spawns it) so that the work of the
 * far end never competes with the client inside one event loop. It uses no
 * WebSocket library, so neither `ws` nor resilient-ws gets a home advantage.
 *
 * Scenarios, chosen by the request path:
 *
 *   /recv?size=64&type=text&count=N
 *       Waits for the first data message from the client (the "start" signal,
 *       so connection set-up is outside the timed window), then writes N
 *       unmasked server frames of `size` bytes (`type` text or binary) as fast
 *       as the socket takes them, followed by a text frame "__end__". Frames come
 *       from one pre-built Buffer of many concatenated frames, written again and
 *       again with backpressure (write() === false → wait for 'drain').
 *
 *   /sink?count=N
 *       Counts the client's data messages by parsing frame headers only
 *       (payloads are skipped, never unmasked); when the count reaches N it
 *       answers with a text frame "done:N".
 *
 *   /echo
 *       Unmasks each client message and writes it straight back as one
 *       unmasked frame with the same opcode (Nagle off).
 *
 *   /idle
 *       Answers pings with pongs and otherwise stays silent (idle connections).
 *
 * Control frames are handled in every scenario: ping → pong, close → close
 * echo + end. Prints the listening port as the first line of stdout. Exits
 * when its parent goes away (stdin ends, or the IPC channel disconnects).
 *
 * Standalone: `node bench/frame-server.js [port]`.
 */

const net = require('net');
const crypto = require('crypto');

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const OP_CONT = 0x0;
const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;

/** Bytes of frames per pre-built block for `recv` (one write() each). */
const RECV_BLOCK_BYTES = 512 * 1024;
/** Largest upgrade request we accept before giving up on the connection. */
const MAX_HEADER_BYTES = 16 * 1024;

/**
 * Encode one unmasked server frame (FIN set).
 * @param {number} opcode
 * @param {Buffer} payload
 * @returns {Buffer}
 */
function encodeFrame(opcode, payload) {
  const len = payload.length;
  let header;
  if (len < 126) {
    header = Buffer.allocUnsafe(2);
    header[1] = len;
  } else if (len < 65536) {
    header = Buffer.allocUnsafe(4);
    header[1] = 126;
    header.writeUInt16BE(len, 2);
  } else {
    header = Buffer.allocUnsafe(10);
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(len), 2);
  }
  header[0] = 0x80 | opcode;
  return Buffer.concat([header, payload]);
}

/**
 * Payload for `recv`: printable ASCII for text (valid UTF-8, one byte per
 * character, so string length === byte length), a byte ramp for binary.
 * @param {number} size
 * @param {'text'|'binary'} type
 * @returns {Buffer}
 */
function makePayload(size, type) {
  const buf = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) buf[i] = type === 'text' ? 0x61 + (i % 26) : i & 0xff;
  return buf;
}

/**
 * Streaming parser for client (masked) frames.
 *
 * With `wantPayload` false, data-frame payloads are skipped without copying or
 * unmasking — `sink` must stay far cheaper than the client it measures.
 * Control frames (≤ 125 bytes) are always delivered whole and unmasked.
 */
class ClientFrameReader {
  /**
   * @param {boolean} wantPayload deliver unmasked data payloads
   * @param {(fin: boolean, opcode: number, payload: Buffer|null) => void} onFrame
   */
  constructor(wantPayload, onFrame) {
    this.wantPayload = wantPayload;
    this.onFrame = onFrame;
    this.pending = null; // unparsed bytes: a partial header, or a partial frame we must see whole
    this.skip = 0; // payload bytes of the current data frame still to skip
    this.skipFin = false;
    this.skipOpcode = 0;
  }

  /** @param {Buffer} chunk */
  push(chunk) {
    let buf = chunk;
    let off = 0;
    if (this.skip > 0) {
      if (chunk.length < this.skip) {
        this.skip -= chunk.length;
        return;
      }
      off = this.skip;
      this.skip = 0;
      this.onFrame(this.skipFin, this.skipOpcode, null);
    } else if (this.pending) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = null;
    }

    const end = buf.length;
    while (off < end) {
      if (end - off < 2) break;
      const b0 = buf[off];
      const b1 = buf[off + 1];
      const fin = (b0 & 0x80) !== 0;
      const opcode = b0 & 0x0f;
      const masked = (b1 & 0x80) !== 0;
      let len = b1 & 0x7f;
      let hdr = 2;
      if (len === 126) {
        if (end - off < 4) break;
        len = buf.readUInt16BE(off + 2);
        hdr = 4;
      } else if (len === 127) {
        if (end - off < 10) break;
        len = Number(buf.readBigUInt64BE(off + 2));
        hdr = 10;
      }
      const maskAt = off + hdr;
      if (masked) hdr += 4;
      if (end - off < hdr) break;

      const payloadAt = off + hdr;
      const needPayload = this.wantPayload || opcode >= OP_CLOSE;
      if (!needPayload) {
        const available = end - payloadAt;
        if (available < len) {
          // Skip the rest of this payload as it streams in; no buffering.
          this.skip = len - available;
          this.skipFin = fin;
          this.skipOpcode = opcode;
          return;
        }
        this.onFrame(fin, opcode, null);
        off = payloadAt + len;
        continue;
      }

      if (end - payloadAt < len) break;
      const payload = buf.subarray(payloadAt, payloadAt + len);
      if (masked) {
        const m0 = buf[maskAt];
        const m1 = buf[maskAt + 1];
        const m2 = buf[maskAt + 2];
        const m3 = buf[maskAt + 3];
        for (let i = 0; i < len; i++) {
          const k = i & 3;
          payload[i] ^= k === 0 ? m0 : k === 1 ? m1 : k === 2 ? m2 : m3;
        }
      }
      this.onFrame(fin, opcode, payload);
      off = payloadAt + len;
    }
    if (off < end) this.pending = buf.subarray(off);
  }
}

/**
 * Parse the upgrade request and answer it.
 * @param {net.Socket} socket
 * @param {string} head request line + headers, without the final CRLFCRLF
 * @returns {URL|null} the request target, or null when the request was refused
 */
function acceptUpgrade(socket, head) {
  const lines = head.split('\r\n');
  const [method, target] = lines[0].split(' ');
  let key = null;
  for (let i = 1; i < lines.length; i++) {
    const colon = lines[i].indexOf(':');
    if (colon > 0 && lines[i].slice(0, colon).trim().toLowerCase() === 'sec-websocket-key') {
      key = lines[i].slice(colon + 1).trim();
    }
  }
  if (method !== 'GET' || !key || !target) {
    socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    return null;
  }
  const accept = crypto.createHash('sha1').update(key + WS_GUID).digest('base64');
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\n' +
      'Upgrade: websocket\r\n' +
      'Connection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${accept}\r\n\r\n`
  );
  return new URL(target, 'http://bench.invalid');
}

/**
 * Positive integer query parameter.
 * @param {URL} url
 * @param {string} name
 * @param {number} fallback
 */
function intParam(url, name, fallback) {
  const raw = url.searchParams.get(name);
  if (raw === null) return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${name} must be a non-negative integer, got ${raw}`);
  return n;
}

/**
 * `recv`: write `count` frames of `size` bytes, then "__end__".
 * @param {net.Socket} socket
 * @param {URL} url
 * @returns {() => void} starts the stream (called on the client's first message)
 */
function recvScenario(socket, url) {
  const size = intParam(url, 'size', 64);
  const count = intParam(url, 'count', 100000);
  const type = url.searchParams.get('type') === 'binary' ? 'binary' : 'text';
  const frame = encodeFrame(type === 'text' ? OP_TEXT : OP_BINARY, makePayload(size, type));
  const perBlock = Math.max(1, Math.floor(RECV_BLOCK_BYTES / frame.length));
  const block = Buffer.concat(new Array(perBlock).fill(frame));
  const endFrame = encodeFrame(OP_TEXT, Buffer.from('__end__'));
  let remaining = count;
  let started = false;

  function pump() {
    while (remaining > 0) {
      if (socket.destroyed) return;
      const n = Math.min(remaining, perBlock);
      remaining -= n;
      const ok = socket.write(n === perBlock ? block : block.subarray(0, n * frame.length));
      if (!ok) {
        socket.once('drain', pump);
        return;
      }
    }
    if (!socket.destroyed) socket.write(endFrame);
  }

  return () => {
    if (started) return;
    started = true;
    pump();
  };
}

/**
 * Handle one TCP connection: upgrade, then dispatch frames to the scenario.
 * @param {net.Socket} socket
 */
function onConnection(socket) {
  socket.setNoDelay(true);
  socket.on('error', () => {}); // resets from clients that are torn down are routine here

  let headBuf = Buffer.alloc(0);
  let reader = null;

  function onData(chunk) {
    if (reader) {
      reader.push(chunk);
      return;
    }
    headBuf = headBuf.length ? Buffer.concat([headBuf, chunk]) : chunk;
    const endAt = headBuf.indexOf('\r\n\r\n');
    if (endAt < 0) {
      if (headBuf.length > MAX_HEADER_BYTES) socket.destroy();
      return;
    }
    const url = acceptUpgrade(socket, headBuf.subarray(0, endAt).toString('latin1'));
    if (!url) return;
    try {
      reader = makeReader(socket, url);
    } catch (err) {
      process.stderr.write(`frame-server: ${err.message}\n`);
      socket.destroy();
      return;
    }
    const rest = headBuf.subarray(endAt + 4);
    headBuf = null;
    if (rest.length) reader.push(rest);
  }

  socket.on('data', onData);
}

/**
 * Build the frame reader for the scenario named by the request path.
 * @param {net.Socket} socket
 * @param {URL} url
 * @returns {ClientFrameReader}
 */
function makeReader(socket, url) {
  const scenario = url.pathname.replace(/^\/+/, '');
  let closing = false;

  /** Common control-frame handling; returns true when the frame was a control frame. */
  function control(opcode, payload) {
    if (opcode === OP_CLOSE) {
      if (!closing) {
        closing = true;
        // Echo the status code (first two bytes) as the RFC asks, then end TCP.
        const body = payload && payload.length >= 2 ? payload.subarray(0, 2) : Buffer.alloc(0);
        socket.end(encodeFrame(OP_CLOSE, Buffer.from(body)));
      }
      return true;
    }
    if (opcode === OP_PING) {
      if (!closing) socket.write(encodeFrame(OP_PONG, Buffer.from(payload)));
      return true;
    }
    return opcode === OP_PONG;
  }

  if (scenario === 'recv') {
    const start = recvScenario(socket, url);
    return new ClientFrameReader(false, (fin, opcode, payload) => {
      if (control(opcode, payload)) return;
      if (fin) start();
    });
  }

  if (scenario === 'sink') {
    const target = intParam(url, 'count', 0);
    let count = 0;
    return new ClientFrameReader(false, (fin, opcode, payload) => {
      if (control(opcode, payload)) return;
      if (!fin) return; // a message is counted once, at its final fragment
      count++;
      if (count === target) socket.write(encodeFrame(OP_TEXT, Buffer.from(`done:${count}`)));
    });
  }

  if (scenario === 'echo') {
    let fragments = [];
    let fragmentOpcode = OP_TEXT;
    return new ClientFrameReader(true, (fin, opcode, payload) => {
      if (control(opcode, payload)) return;
      if (closing) return;
      if (opcode !== OP_CONT) fragmentOpcode = opcode;
      if (fin && fragments.length === 0) {
        // encodeFrame copies, so the receive buffer can be reused by the reader.
        socket.write(encodeFrame(fragmentOpcode, payload));
        return;
      }
      fragments.push(Buffer.from(payload));
      if (fin) {
        socket.write(encodeFrame(fragmentOpcode, Buffer.concat(fragments)));
        fragments = [];
      }
    });
  }

  if (scenario === 'idle') {
    // Idle connections: answer pings (the client's heartbeat), ignore everything else.
    return new ClientFrameReader(false, (fin, opcode, payload) => {
      control(opcode, payload);
    });
  }

  throw new Error(`unknown scenario path ${url.pathname} (expected /recv, /sink, /echo or /idle)`);
}

function main() {
  const portArg = process.argv.slice(2).find((a) => /^\d+$/.test(a));
  const port = portArg ? Number(portArg) : 0;
  const server = net.createServer(onConnection);
  // 5,000 idle connections arrive in bursts of 200; do not let the accept queue drop SYNs.
  server.listen({ port, host: '127.0.0.1', backlog: 4096 }, () => {
    process.stdout.write(`${server.address().port}\n`);
  });

  // Never outlive the harness: it holds our stdin (and maybe an IPC channel).
  const bye = () => process.exit(0);
  if (!process.stdin.isTTY) {
    process.stdin.on('end', bye);
    process.stdin.on('close', bye);
    process.stdin.on('error', bye);
    process.stdin.resume();
  }
  process.on('disconnect', bye);
  process.on('SIGTERM', bye);
}

if (require.main === module) main();

module.exports = { encodeFrame, ClientFrameReader };
