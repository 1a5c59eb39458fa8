'use strict';

const { invalidOption } = require('./errors');

/** Longest idempotency key send() takes, given or carried (the outbox keeps keys in memory). */
const MAX_KEY_LENGTH = 1024;

/**
 * outbox.keyField: the key a text message already carries in that field, if it does. The outbox
 * writes the key into the field only when the field is absent (the sender's value wins), so a
 * message that has one must also be tracked under it: otherwise the server acks a key the outbox
 * never heard of, and the message waits for an ack that cannot come, re-sent after every
 * reconnect. Returns undefined when the text is not a JSON object or has no such field (the
 * outbox then writes the generated key in). Throws when the field holds something that cannot be
 * a key.
 * @param {string} text
 * @param {string} field
 * @returns {string|undefined}
 */
function payloadKey(text, field) {
  // The field's name must appear in the text for it to be there (unless written with \u escapes,
  // which this does not look for): most messages are not parsed at all.
  if (!text.includes(field)) return undefined;
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed) || !Object.hasOwn(parsed, field)) return undefined;
  const key = parsed[field];
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw invalidOption(
      'type',
      `send(data): data already has a "${field}" field (outbox.keyField), and it must then be the message's key: ` +
        `a non-empty string of at most ${MAX_KEY_LENGTH} characters`,
    );
  }
  return key;
}

/**
 * The message's key, given send()'s `{ key }` and the key its payload carries: one of them, or
 * both when equal. Different ones are refused: the payload keeps its own, the ack would carry it,
 * and the outbox would wait for the other.
 * @param {string|undefined} given
 * @param {string|undefined} carried
 * @param {string} field
 * @returns {string|undefined}
 */
function keyWithPayload(given, carried, field) {
  if (carried === undefined) return given;
  if (given !== undefined && given !== carried) {
    throw invalidOption(
      'type',
      `send(data, { key }): data's "${field}" field (outbox.keyField) says '${carried}', not the key given; ` +
        'give one of them, or the same key in both',
    );
  }
  return carried;
}

module.exports = { payloadKey, keyWithPayload, MAX_KEY_LENGTH };
