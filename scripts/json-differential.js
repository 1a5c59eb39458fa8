'use strict';
// Differential check of the core's JSON field extraction (native/resume/json_field.cpp) against
// JSON.parse, the reference the app sees: every entry of native/fuzz/corpus/json_field/ (format
// "<dotted path>\n<json text>", as fuzz_json_field reads it) plus the cases below (ones the
// fuzzer cannot compare, because its Boost.JSON reference differs from JSON.parse there) goes
// through both, and any difference fails with the entry named.
// Usage: node scripts/json-differential.js [path/to/rws_json_field_print]
//   (default build-tests/rws_json_field_print; `npm test` builds it)
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const tool = process.argv[2] || path.join(root, 'build-tests', 'rws_json_field_print');
const corpus = path.join(root, 'native', 'fuzz', 'corpus', 'json_field');

const extra = [
  ['lone high surrogate', 'id', '{"id":"a\\ud800b"}'],
  ['lone low surrogate', 'id', '{"id":"\\udc00"}'],
  ['reversed surrogate pair', 'id', '{"id":"\\ude00\\ud83d"}'],
  ['exponent overflow', 'id', '{"id":1e999999999999}'],
  ['exponent underflow', 'id', '{"id":-1e-999999999999}'],
  ['zero with a huge exponent', 'id', '{"id":0e400}'],
  ['correct rounding', 'id', '{"id":-0.5e+30}'],
  ['integer above 2^53', 'id', '{"id":9007199254740993}'],
  ['negative zero', 'id', '{"id":-0}'],
  ['duplicates, last is a string', 'id', '{"id":1,"x":[],"id":"two"}'],
  ['duplicates, last is an object', 'id', '{"id":1,"id":{}}'],
  ['duplicate parent hides the child', 'meta.seq', '{"meta":{"seq":1},"meta":{}}'],
  ['duplicate parent brings the child', 'meta.seq', '{"meta":{},"meta":{"seq":2}}'],
  ['duplicate parent is a scalar', 'meta.seq', '{"meta":{"seq":1},"meta":true}'],
  ['escaped key equals the path', 'id', '{"\\u0069\\u0064":"esc"}'],
  ['trailing garbage', 'id', '{"id":1}x'],
  ['trailing comma', 'id', '{"id":1,}'],
  ['two objects', 'id', '{"id":1}{"id":2}'],
  ['whitespace around', 'id', '\r\n\t {"id":3} \n'],
  ['non-JSON whitespace (NBSP)', 'id', '\u00a0{"id":3}'],
  ['__proto__ key', '__proto__', '{"__proto__":"p"}'],
  ['constructor key', 'constructor', '{"constructor":1}'],
  ['empty key path', '', '{"":0}'],
];

function entries() {
  const out = [];
  for (const name of fs.readdirSync(corpus).sort()) {
    const bytes = fs.readFileSync(path.join(corpus, name));
    const nl = bytes.indexOf(0x0a);
    // The same split rule as the harness: a newline within the first 65 bytes ends the path.
    if (nl >= 0 && nl <= 64) out.push([`corpus/${name}`, bytes.subarray(0, nl), bytes.subarray(nl + 1)]);
    else out.push([`corpus/${name}`, Buffer.from('id'), bytes]);
  }
  for (const [name, p, text] of extra) out.push([name, Buffer.from(p), Buffer.from(text)]);
  return out;
}

// What an app reading `path` of JSON.parse(text) gets, in the tool's output format.
function expected(pathBytes, textBytes) {
  let text;
  let dotted;
  try {
    const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
    text = decoder.decode(textBytes);
    dotted = decoder.decode(pathBytes);
  } catch {
    return null;  // not UTF-8: a text message like that never reaches the core (1007)
  }
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    return 'none';
  }
  for (const key of dotted.split('.')) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'none';
    if (!Object.prototype.hasOwnProperty.call(value, key)) return 'none';
    value = value[key];
  }
  switch (typeof value) {
    case 'string': return `string ${Buffer.from(value, 'utf8').toString('hex')}`;
    case 'number': return { number: value };
    case 'boolean': return `boolean ${Buffer.from(String(value)).toString('hex')}`;
    default: return value === null ? `null ${Buffer.from('null').toString('hex')}` : 'none';
  }
}

function main() {
  if (!fs.existsSync(tool)) {
    console.error(`json-differential: ${tool} is missing; build it with ` +
      '`cmake --build build-tests --target rws_json_field_print`');
    process.exit(2);
  }
  const list = entries();
  const input = list.map(([, p, t]) => `${p.toString('hex')}\t${t.toString('hex')}\n`).join('');
  const run = spawnSync(tool, [], { input, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (run.status !== 0) {
    console.error(`json-differential: ${tool} failed (exit ${run.status ?? run.signal}): ${run.stderr}`);
    process.exit(1);
  }
  const lines = run.stdout.split('\n');
  let compared = 0;
  const failures = [];
  list.forEach(([name, p, t], i) => {
    const want = expected(p, t);
    if (want === null) return;
    compared++;
    const got = lines[i];
    let same;
    if (typeof want === 'object') {
      const [kind, hexText] = got.split(' ');
      same = kind === 'number' && Object.is(Number(Buffer.from(hexText ?? '', 'hex').toString()), want.number);
    } else {
      same = got === want;
    }
    if (!same) {
      failures.push(`${name}: path ${JSON.stringify(p.toString())} text ${JSON.stringify(t.toString())}: ` +
        `core says ${got}, JSON.parse says ${typeof want === 'object' ? `number ${want.number}` : want}`);
    }
  });
  if (failures.length) {
    console.error(`json-differential: ${failures.length} of ${compared} entries differ from JSON.parse:`);
    for (const f of failures) console.error(`  ${f}`);
    process.exit(1);
  }
  console.log(`json-differential: ${compared} entries, the core agrees with JSON.parse on all`);
}

main();
