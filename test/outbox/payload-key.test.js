'use strict';

// outbox.keyField: which key a text message already carries (lib/payload-key.js), and how it
// combines with send()'s { key }. Pure logic; test/outbox/acked.test.js has it end to end.

const { payloadKey, keyWithPayload } = require('../../lib/payload-key');

test('the key a JSON object carries in the field, as JSON.parse reads it', () => {
  expect(payloadKey('{"key":"a-1","n":1}', 'key')).toBe('a-1');
  expect(payloadKey(' {"n":1, "key":"\\u00e9t\\u00e9"} ', 'key')).toBe('été');
  expect(payloadKey('{"key":"first","key":"last"}', 'key')).toBe('last'); // as JSON.parse
  expect(payloadKey('{"id":"x"}', 'id')).toBe('x');
});

test('no key when the text is not a JSON object or the field is elsewhere', () => {
  expect(payloadKey('{"n":1}', 'key')).toBeUndefined();
  expect(payloadKey('not json, but says key', 'key')).toBeUndefined();
  expect(payloadKey('["key","a"]', 'key')).toBeUndefined();
  expect(payloadKey('"key"', 'key')).toBeUndefined();
  expect(payloadKey('{"meta":{"key":"nested"}}', 'key')).toBeUndefined();
  expect(payloadKey('{"keys":"x","monkey":"y"}', 'key')).toBeUndefined();
  expect(payloadKey('{"key":"a"', 'key')).toBeUndefined(); // cut short: the outbox sends it unchanged too
});

test('a field that cannot be a key is refused, naming the field', () => {
  for (const bad of ['{"key":42}', '{"key":null}', '{"key":""}', `{"key":"${'k'.repeat(1025)}"}`, '{"key":{"a":1}}']) {
    expect(() => payloadKey(bad, 'key')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
  }
  expect(() => payloadKey('{"ref":7}', 'ref')).toThrow(/"ref" field \(outbox\.keyField\)/);
  expect(payloadKey(`{"key":"${'k'.repeat(1024)}"}`, 'key')).toHaveLength(1024);
});

test("send()'s { key } and the payload's: either, or both when equal", () => {
  expect(keyWithPayload(undefined, undefined, 'key')).toBeUndefined();
  expect(keyWithPayload('given', undefined, 'key')).toBe('given');
  expect(keyWithPayload(undefined, 'carried', 'key')).toBe('carried');
  expect(keyWithPayload('same', 'same', 'key')).toBe('same');
  expect(() => keyWithPayload('a', 'b', 'key')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
});
