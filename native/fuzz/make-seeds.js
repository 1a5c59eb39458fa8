'use strict';
// Writes the seed corpora of the fuzzers into native/fuzz/corpus/<harness>/ (run it again after
// changing an input layout; libFuzzer adds what it finds to a copy, never to these). Each seed
// is named for what it exercises; the known findings' reproducers are among them (see
// native/fuzz/README.md), so a short CI run re-checks them on every build.
// Usage: node native/fuzz/make-seeds.js
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

const root = path.join(__dirname, 'corpus');
const corpora = {};
const add = (harness, name, bytes) => {
  (corpora[harness] ??= []).push([name, Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes)]);
};
const hex = (s) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const u16 = (n) => Buffer.from([n & 255, (n >> 8) & 255]);
const u32 = (n) => { const b = Buffer.alloc(4); b.writeUInt32LE(n >>> 0); return b; };
const u64 = (n) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(n)); return b; };
const cat = (...parts) => Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p))));
const rawDeflate = (s, windowBits = 15) => {
  const out = zlib.deflateRawSync(Buffer.from(s), { windowBits, finishFlush: zlib.constants.Z_SYNC_FLUSH });
  return out.subarray(0, out.length - 4);  // without 00 00 ff ff, as on the wire
};

// ---- frames: [flags][limit u16][k][k split bytes][stream] ----------------------------------
const frame = (b0, payload, { mask = false, lenForm } = {}) => {
  const p = Buffer.from(payload);
  let head;
  if (lenForm === 127 || p.length > 65535) {
    head = Buffer.alloc(10); head[1] = 127; head.writeBigUInt64BE(BigInt(p.length), 2);
  } else if (lenForm === 126 || p.length > 125) {
    head = Buffer.alloc(4); head[1] = 126; head.writeUInt16BE(p.length, 2);
  } else {
    head = Buffer.alloc(2); head[1] = p.length;
  }
  head[0] = b0;
  if (mask) head[1] |= 0x80;
  return cat(head, mask ? Buffer.from([1, 2, 3, 4]) : Buffer.alloc(0), p);
};
const frames = (name, stream, { compression = 0, limit = 0xffff, splits = [] } = {}) =>
  add('frames', name, cat([compression], u16(limit), [splits.length], Buffer.from(splits), stream));
const closeFrame = (code, reason = '') => frame(0x88, cat(Buffer.from([code >> 8, code & 255]), reason));
frames('text-hello', frame(0x81, 'hello'));
frames('text-hello-split', frame(0x81, 'hello'), { splits: [1, 2, 5] });
frames('binary-300-len126', frame(0x82, Buffer.alloc(300, 7)), { splits: [3] });
frames('binary-len127', frame(0x82, Buffer.alloc(10, 1), { lenForm: 127 }));
frames('fragmented-text-with-ping', cat(frame(0x01, 'hel'), frame(0x89, 'p'), frame(0x80, 'lo')), { splits: [4, 9] });
frames('ping-pong', cat(frame(0x89, 'abc'), frame(0x8a, '')));
frames('close-1000-reason', closeFrame(1000, 'bye'));
frames('close-no-code', frame(0x88, ''));
frames('close-code-999', closeFrame(999));
frames('close-1-byte', frame(0x88, 'x'));
frames('close-then-more', cat(closeFrame(1001), frame(0x81, 'late')));
frames('masked-server-frame', frame(0x81, 'hi', { mask: true }));
frames('rsv1-without-compression', frame(0xc1, 'x'));
frames('rsv1-compressed', frame(0xc1, rawDeflate('hello hello hello')), { compression: 1 });
frames('rsv2', frame(0xa1, 'x'));
frames('reserved-opcode-3', frame(0x83, 'x'));
frames('orphan-continuation', frame(0x80, 'x'));
frames('fragmented-ping', frame(0x09, 'x'));
frames('ping-126-bytes', frame(0x89, Buffer.alloc(126)));
frames('text-invalid-utf8', frame(0x81, hex('c0af')));
frames('text-utf8-split-codepoint', cat(frame(0x01, hex('e282')), frame(0x80, hex('ac'))), { splits: [3] });
frames('text-over-limit', frame(0x81, 'hello world'), { limit: 5 });
frames('fragments-over-limit', cat(frame(0x01, 'abc'), frame(0x80, 'def')), { limit: 5 });
frames('limit-zero-empty-text', frame(0x81, ''), { limit: 0 });
frames('len-1TiB', hex('827f0000010000000000'));
frames('len126-noncanonical', cat(hex('827e0005'), 'hello'));
frames('new-message-inside-fragmented', cat(frame(0x01, 'a'), frame(0x81, 'b')));
frames('trickled', frame(0x81, 'trickle'), { splits: [1, 2, 3, 4, 5, 6, 7, 8] });

// ---- inflate: [flags][limit u32][split][payload] ----------------------------------------------
const inflate = (name, payload, { bits = 15, noContext = false, roundTrip = false, limit = 1 << 20, split = 0 } = {}) =>
  add('inflate', name, cat([(bits - 8) | (noContext ? 8 : 0) | (roundTrip ? 16 : 0)], u32(limit), [split], payload));
inflate('hello', rawDeflate('hello'));
inflate('hello-limit-5', rawDeflate('hello'), { limit: 5 });
inflate('hello-limit-4', rawDeflate('hello'), { limit: 4 });
inflate('empty', Buffer.alloc(0));
inflate('empty-limit-0', Buffer.alloc(0), { limit: 0 });
// Fixed finding: limit 0, raw deflate d3 00, inflated one byte over.
inflate('found-limit-0-d300', hex('d300'), { limit: 0 });
inflate('found-limit-0-d3', hex('d3'), { limit: 0 });
inflate('zeros-64k-limit-1000', rawDeflate(Buffer.alloc(65536)), { limit: 1000 });
inflate('two-messages-context', cat(rawDeflate('abcabcabc'), rawDeflate('abcabcabc')), { split: 7 });
inflate('window-8', rawDeflate('window bits eight', 9), { bits: 8 });
inflate('window-9-no-context', rawDeflate('window nine', 9), { bits: 9, noContext: true });
inflate('corrupt', hex('ffffffff'));
inflate('stored-block', hex('000500faff68656c6c6f'));
inflate('final-block-then-more', cat(zlib.deflateRawSync(Buffer.from('end')), 'trailing'));
inflate('roundtrip-text', Buffer.from('the quick brown fox jumps over the lazy dog'), { roundTrip: true });
inflate('roundtrip-binary', Buffer.from([0, 1, 2, 255, 254, 0, 0, 0]), { roundTrip: true, bits: 10 });

// ---- upgrade_response: [piece][bytes] ----------------------------------------------------------
const upgrade = (name, text, piece = 255) => add('upgrade_response', name, cat([piece], text));
const ok101 = 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n';
upgrade('101-ok', `${ok101}\r\n`);
upgrade('101-ok-trickled', `${ok101}\r\n`, 0);
upgrade('101-with-frame-after', `${ok101}\r\n\x81\x02hi`);
upgrade('101-protocol', `${ok101}Sec-WebSocket-Protocol: chat\r\n\r\n`);
upgrade('101-unknown-protocol', `${ok101}Sec-WebSocket-Protocol: other\r\n\r\n`);
upgrade('101-deflate', `${ok101}Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_max_window_bits=10\r\n\r\n`);
upgrade('101-deflate-bad-bits', `${ok101}Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=16\r\n\r\n`);
upgrade('101-deflate-duplicate', `${ok101}Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; server_no_context_takeover\r\n\r\n`);
upgrade('101-two-extensions', `${ok101}Sec-WebSocket-Extensions: permessage-deflate, x-foo\r\n\r\n`);
upgrade('101-wrong-accept', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: wrong\r\n\r\n');
upgrade('401', 'HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n');
upgrade('503-retry-seconds', 'HTTP/1.1 503 Service Unavailable\r\nRetry-After: 7\r\n\r\n');
upgrade('503-retry-huge-seconds', 'HTTP/1.1 503 Service Unavailable\r\nRetry-After: 99999999999999999999\r\n\r\n');
upgrade('503-retry-date', 'HTTP/1.1 503 Service Unavailable\r\nRetry-After: Wed, 21 Oct 2026 07:28:00 GMT\r\n\r\n');
// Fixed finding: a far-future date overflowed the chrono conversion in parse_retry_after
// (UBSan: signed integer overflow).
upgrade('found-503-retry-date-overflow', 'HTTP/1.1 503 Service Unavailable\r\nRetry-After: Fri, 31 Dec 9999 23:59:59 GMT\r\n\r\n');
upgrade('found-503-retry-date-2300', 'HTTP/1.1 503 Service Unavailable\r\nRetry-After: Sat, 01 Jan 2300 00:00:00 GMT\r\n\r\n');
upgrade('found-503-retry-date-year-0', 'HTTP/1.1 503 Service Unavailable\r\nRetry-After: Sat, 01 Jan 0000 00:00:00 GMT\r\n\r\n');
upgrade('503-retry-garbage', 'HTTP/1.1 503 Service Unavailable\r\nRetry-After: soon\r\n\r\n');
upgrade('http-1.0', 'HTTP/1.0 200 OK\r\n\r\n');
upgrade('no-status-digits', 'HTTP/1.1 abc Nope\r\n\r\n');
upgrade('header-without-colon', 'HTTP/1.1 101 Switching\r\nUpgrade websocket\r\n\r\n');
upgrade('header-empty-name', 'HTTP/1.1 101 Switching\r\n: value\r\n\r\n');
upgrade('bare-lf', 'HTTP/1.1 101 Switching\nUpgrade: websocket\n\n');
upgrade('headers-over-16k', `HTTP/1.1 101 Switching\r\nX-Big: ${'a'.repeat(17000)}\r\n\r\n`);
upgrade('half-response', 'HTTP/1.1 101 Swit');
upgrade('obs-fold', 'HTTP/1.1 101 Switching\r\nUpgrade: web\r\n socket\r\n\r\n');

// ---- utf8: [k][k split bytes][text] -------------------------------------------------------------
const utf8 = (name, text, splits = []) => add('utf8', name, cat([splits.length], Buffer.from(splits), text));
utf8('ascii', 'hello');
utf8('empty', '');
utf8('two-byte', hex('c2a9'));
utf8('three-byte-euro', hex('e282ac'), [1, 2]);
utf8('four-byte-max', hex('f48fbfbf'), [1]);
utf8('mixed', Buffer.from('aé€😀z'), [2, 4, 7]);
utf8('overlong-c0', hex('c080'));
utf8('overlong-e0', hex('e08080'));
utf8('overlong-f0', hex('f0808080'));
utf8('surrogate-ed-a0', hex('eda080'));
utf8('above-10ffff', hex('f4908080'));
utf8('f5-lead', hex('f5808080'));
utf8('ff', hex('ff'));
utf8('lone-continuation', hex('80'));
utf8('truncated-3', hex('e282'));
utf8('truncated-4-split', hex('f09f98'), [2]);
utf8('bad-after-good', hex('41c3a9c3'), [3]);
utf8('eda0-split-at-lead', hex('eda080'), [1]);

// ---- url: flag (bit 0: wss), u16 port, then NUL-separated host, target, header name, header
// value, subprotocol, Location, basic-auth token ----------------------------------------------
const url = (name, { wss = false, port = 0, host = 'example.com', target = '/', header = 'X-Token', value = 'v',
  protocol = 'chat', location = '/next', auth = '' } = {}) =>
  add('url', name, cat(Buffer.from([wss ? 1 : 0]), u16(port), [host, target, header, value, protocol, location, auth].join('\0')));
url('plain');
url('wss-port-query', { wss: true, port: 8443, target: '/path/x?a=1&b=2' });
url('ipv6-host', { host: '[::1]', port: 8080 });
url('credentials-same-origin', { wss: true, auth: 'dXNlcjpwQHNz', location: '/v2' });
url('credentials-other-origin', { wss: true, auth: 'dXNlcjpwQHNz', location: 'https://other.example/feed' });
url('downgrade', { wss: true, location: 'ws://example.com/' });
url('upgrade', { location: 'wss://example.com/' });
url('location-userinfo', { location: 'ws://mallory:pw@evil.example/' });
url('location-ftp', { location: 'ftp://example.com/' });
url('location-relative-dots', { target: '/a/b/c', location: '../../x?y=1' });
url('crlf-in-target', { target: '/a b\r\nX: y' });
url('crlf-in-host', { host: 'h\r\nX: y' });
url('crlf-in-value', { value: 'a\r\nInjected: 1' });
url('space-in-header-name', { header: 'X Token' });
url('bad-protocol', { protocol: 'chat v2' });
url('empty-host', { host: '' });
url('location-empty', { location: '' });
url('location-ipv6', { location: 'ws://[::1]:9001/x' });
url('location-ipv6-unterminated', { location: 'ws://[::1/' });
url('query-in-target', { target: '/feed?token=s3cret' });

// ---- json_field: "<path>\n<json>" -------------------------------------------------------------
const json = (name, pathText, text) => add('json_field', name, `${pathText}\n${text}`);
json('id-number', 'id', '{"id":42}');
json('id-string', 'id', '{"type":"event","id":"e-1","data":[1,2,{"x":null}]}');
json('id-missing', 'id', '{"type":"event"}');
json('duplicate-last-wins', 'id', '{"id":1,"id":2}');
json('duplicate-first-object', 'id', '{"id":{"x":1},"id":3}');
json('duplicate-parent', 'meta.seq', '{"meta":{"seq":1},"meta":{"other":2}}');
json('duplicate-parent-last-has', 'meta.seq', '{"meta":{"x":1},"meta":{"seq":7}}');
json('nested', 'meta.seq', '{"meta":{"seq":12345678901234567890}}');
json('trailing-garbage', 'id', '{"id":1} x');
json('malformed-after-value', 'id', '{"id":2,[[],[5555]]}');
json('truncated-after-value', 'id', '{"id":2,"x":');
json('truncated-number', 'id', '{"id":12');
json('whitespace', 'id', ' \t\r\n{ "id" : true } \n');
json('escapes', 'id', '{"id":"a\\"b\\\\c\\u00e9\\ud83d\\ude00\\n"}');
json('escaped-key', 'id', '{"\\u0069d":"escaped key"}');
json('lone-surrogate', 'id', '{"id":"\\ud800"}');
json('number-forms', 'id', '{"id":-0.5e+10}');
json('number-leading-zero', 'id', '{"id":01}');
json('number-huge-exponent', 'id', '{"id":1e400}');
json('null', 'id', '{"id":null}');
json('false', 'id', '{"id":false}');
json('array-value', 'id', '{"id":[1]}');
json('top-level-array', 'id', '[{"id":1}]');
json('empty-object', 'id', '{}');
json('empty-key', '', '{"":"empty"}');
json('proto-key', '__proto__', '{"__proto__":"p"}');
json('deep-nesting', 'id', `{"x":${'['.repeat(2000)}${']'.repeat(2000)},"id":5}`);
json('deep-unbalanced', 'id', `{"x":${'['.repeat(2000)}}`);
json('control-char-in-string', 'id', '{"id":"a\u0001b"}');
json('trailing-comma', 'id', '{"id":1,}');
json('utf8-key', 'ключ', '{"ключ":"значение"}');
json('bom', 'id', '\ufeff{"id":1}');

// ---- outbox_recovery: [first seq u64][ops] (see fuzz_outbox_recovery.cpp) ---------------------
const dataOp = (key, payload, binary = false) =>
  cat([binary ? 4 : 0, Buffer.byteLength(key)], key, [Buffer.byteLength(payload)], payload);
const embeddedOp = (type, seq, key, payload) =>
  cat([1, type - 1], u64(seq), type === 1 ? cat([Buffer.byteLength(key)], key, [Buffer.byteLength(payload)], payload) : Buffer.alloc(0));
const markOp = (pick, dropped = false) => Buffer.from([dropped ? 6 : 2, pick]);
const damageOp = (at, kind, arg) => cat([3], u16(at), [kind, arg]);
const outbox = (name, firstSeq, ...ops) => add('outbox_recovery', name, cat(u64(firstSeq), ...ops));
outbox('empty-segment', 1);
outbox('three-records', 1, dataOp('k1', 'one'), dataOp('k2', 'two', true), dataOp('', ''));
outbox('marks', 5, dataOp('a', 'x'), dataOp('b', 'y'), markOp(0), markOp(1, true));
outbox('torn-tail', 1, dataOp('k1', 'one'), dataOp('k2', 'two'), damageOp(60, 1, 0));
outbox('flip-in-middle', 1, dataOp('k1', 'one'), damageOp(30, 0, 1), dataOp('k2', 'two'), dataOp('k3', 'three'));
outbox('zeros-written', 1, dataOp('k1', 'one'), damageOp(24, 2, 7), dataOp('k2', 'two'));
outbox('bytes-overwritten', 1, dataOp('k1', 'one'), dataOp('k2', 'two'), damageOp(30, 3, 0xff), dataOp('k3', 'three'));
outbox('header-damaged', 1, damageOp(0, 0, 0x40), dataOp('k1', 'one'));
// Reproducers of fixed findings (named found-…). A record inside another record's payload came
// back as a pending record once the outer record's header was damaged (a phantom).
outbox('found-phantom-embedded-record', 1, embeddedOp(1, 1000, 'xyz', 'PQRS'), damageOp(30, 0, 1), dataOp('k', 'v'));
// Record 2's payload is a record with seq 2; its length, damaged to 24 (53 ^ 0x2d), pointed right
// at it.
outbox('found-length-exposes-same-seq', 1, dataOp('k1', 'one'), embeddedOp(1, 2, '', 'boom!'), damageOp(57, 0, 0x2d),
  dataOp('k3', 'three'));
outbox('embedded-mark', 1, dataOp('k1', 'one'), embeddedOp(2, 1, '', ''), damageOp(55, 0, 1), dataOp('k3', 'z'));
// Seq 2^64-1 was used, and the next append wrapped to 0 or reused it.
outbox('found-seq-max-wrap', '18446744073709551615', dataOp('k', 'last'));
outbox('seq-near-max', '18446744073709551613', dataOp('a', '1'), dataOp('b', '2'));
outbox('seq-zero-start', 0, dataOp('k', 'v'));

// ---- write -----------------------------------------------------------------------------------
for (const [harness, seeds] of Object.entries(corpora)) {
  const dir = path.join(root, harness);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, bytes] of seeds) fs.writeFileSync(path.join(dir, name), bytes);
  console.log(`${harness}: ${seeds.length} seeds`);
}
