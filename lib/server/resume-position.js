'use strict';

// Where a client stopped: read from the three routes the client uses (binding.d.ts
// ResumeOptions), with the same names and defaults:
//   query   `?after=<id>`                        (client resume.param for via 'query')
//   header  `Last-Event-ID: <id>`                (client resume.param for via 'header')
//   message first text message `{"type":"sync","lastEventId":<id>}`
// Ids are decimal integers (the companion assigns 1, 2, 3 … per stream); the client sends back
// the last one it received verbatim, as a JSON number in the sync message.

/**
 * Parses an event id from a route. Only a plain decimal integer within Number.MAX_SAFE_INTEGER
 * counts: anything else (empty, negative, `1e3`, a Redis-style `123-0`) is "no position", so a
 * hostile value can never make the server replay from a nonsense place.
 *
 * @param {unknown} value
 * @returns {number|null}
 */
function parsePosition(value) {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : null;
  if (typeof value !== 'string' || value.length === 0 || value.length > 16 || !/^[0-9]+$/.test(value)) return null;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : null;
}

/**
 * Reads the position from the upgrade request: the query parameter first, then the header.
 *
 * @param {import('http').IncomingMessage} req
 * @param {{ query: string|null, header: string|null }} routes names; null disables a route
 * @returns {{ via: 'query'|'header', after: number, raw: string } | { via: 'query'|'header', after: null, raw: string } | null}
 *   null: the request carries no position; `after: null` with `raw`: it carries an unusable one
 */
function positionFromRequest(req, routes) {
  if (routes.query) {
    const q = req.url ? req.url.indexOf('?') : -1;
    if (q !== -1) {
      const raw = new URLSearchParams(req.url.slice(q + 1)).get(routes.query);
      if (raw !== null) return { via: 'query', after: parsePosition(raw), raw };
    }
  }
  if (routes.header) {
    const raw = req.headers[routes.header.toLowerCase()];
    if (typeof raw === 'string') return { via: 'header', after: parsePosition(raw.trim()), raw };
  }
  return null;
}

/**
 * Follows a dotted path (`['meta', 'id']`) into a parsed JSON value.
 *
 * @param {unknown} obj
 * @param {string[]} path
 * @returns {unknown} undefined when any step is missing
 */
function pick(obj, path) {
  let v = obj;
  for (const step of path) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
    v = v[step];
  }
  return v;
}

/**
 * Tells whether a parsed message is a sync message and, if so, the position in it.
 *
 * @param {unknown} json parsed first message
 * @param {{ match: Array<[string[], unknown]>, field: string[] }} sync
 * @returns {undefined|number|null} undefined: not a sync message; null: a sync without a usable id
 */
function positionFromSync(json, sync) {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return undefined;
  for (const [path, expected] of sync.match) if (pick(json, path) !== expected) return undefined;
  return parsePosition(pick(json, sync.field));
}

module.exports = { parsePosition, positionFromRequest, positionFromSync, pick };
