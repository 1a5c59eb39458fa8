'use strict';

// The store for several nodes: Redis Streams through ioredis (an optional peer dependency, loaded
// only when this store is created). Same interface as memory-store.js.
//
// Keys (the `{stream}` hash tag keeps one stream's keys in one Redis Cluster slot):
//   <prefix>{<stream>}:events   a Redis Stream; entry id `<event id>-0`, fields d (JSON) and t (ms)
//   <prefix>{<stream>}:seq      the last event id assigned (a counter)
//   <prefix>key:<key>           idempotency key: 'busy' while claimed (PX lease), 'done' (PX ttl)
//
// Ids come from Redis, never from a node's clock: one Lua script increments the counter and adds
// the entry atomically, so ids are contiguous per stream and in the stream's order, whichever node
// publishes. Fan-out across nodes: every node tails the stream with XREAD BLOCK from the last id it
// delivered, so an event published on node A reaches clients on node B in the same order.

const { EventEmitter } = require('events');
const { checkStoreOptions, isPlainObject, text, integer } = require('./server-options');
const { invalidOption } = require('../errors');
const { clockFirstId } = require('./memory-store');

// KEYS[1] events, KEYS[2] seq; ARGV[1] data, ARGV[2] floor (highest id this node has seen),
// ARGV[3] seed (first id - 1, used only when the counter is missing), ARGV[4] MAXLEN, ARGV[5] now.
// The floor and the stream's last entry keep ids from ever going backwards when Redis lost the
// counter (restarted without persistence): a client's dedupe window would drop reused ids.
const APPEND_LUA = `
local cur = redis.call('GET', KEYS[2])
if not cur then
  local base = ARGV[3]
  local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
  if #last > 0 then
    local n = string.match(last[1][1], '^(%d+)')
    if tonumber(n) > tonumber(base) then base = n end
  end
  if tonumber(ARGV[2]) > tonumber(base) then base = ARGV[2] end
  redis.call('SET', KEYS[2], base)
elseif tonumber(cur) < tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], ARGV[2])
end
local id = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], string.format('%d-0', id), 'd', ARGV[1], 't', ARGV[5])
return id
`;

// Age trimming (MINID): drops entries older than ARGV[1] (ms), looking at most 1000 per run.
const TRIM_AGE_LUA = `
local entries = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1000)
if #entries == 0 then return 0 end
local cutoff = tonumber(ARGV[1])
for i, e in ipairs(entries) do
  local f = e[2]
  local t = nil
  for j = 1, #f, 2 do if f[j] == 't' then t = tonumber(f[j + 1]) end end
  if t ~= nil and t >= cutoff then
    if i == 1 then return 0 end
    return redis.call('XTRIM', KEYS[1], 'MINID', e[1])
  end
end
local n = tonumber(string.match(entries[#entries][1], '^(%d+)'))
return redis.call('XTRIM', KEYS[1], 'MINID', string.format('%d-0', n + 1))
`;

// Releases a claim only while it is still a claim (never a 'done' mark).
const RELEASE_LUA = `
if redis.call('GET', KEYS[1]) == 'busy' then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** Loads ioredis, or explains how to get it. */
function loadIoredis() {
  try {
    return require('ioredis');
  } catch (err) {
    if (err && err.code === 'MODULE_NOT_FOUND' && /ioredis/.test(err.message)) {
      const e = new Error("RedisStore needs the 'ioredis' package (5.x), an optional peer dependency of resilient-ws: npm install ioredis");
      e.code = 'ERR_MISSING_DEPENDENCY';
      throw e;
    }
    throw err;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The numeric event id of a stream entry id `<n>-0`. */
const entryId = (id) => Number(id.slice(0, id.indexOf('-')));

/** The `d` field of an entry's flat field list. */
function dataField(fields) {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === 'd') return fields[i + 1];
  return 'null';
}

class RedisStore extends EventEmitter {
  /**
   * @param {object} [options] see server.d.ts RedisStoreOptions
   */
  constructor(options) {
    super();
    const o = options === undefined ? {} : options;
    const base = checkStoreOptions(o, 'RedisStore', { maxEvents: 100000, maxAge: 0 }, ['redis', 'prefix', 'keyPrefix', 'blockMs']);
    if (!isPlainObject(o) || o.keyPrefix !== undefined) throw invalidOption('type', 'RedisStore: use option prefix (keyPrefix belongs to ioredis)');
    this.prefix = text(o.prefix, 'RedisStore.prefix', 'rws:');
    this.maxEvents = base.maxEvents;
    this.maxAge = base.maxAge;
    this.seed = base.firstId === 'clock' ? null : base.firstId - 1;
    this.blockMs = integer(o.blockMs, 'RedisStore.blockMs', 10, 60000, 5000);
    const IORedis = loadIoredis();
    if (o.redis && typeof o.redis === 'object' && typeof o.redis.duplicate === 'function') {
      this.client = o.redis;
      this.ownClient = false;
    } else if (o.redis === undefined || typeof o.redis === 'string' || isPlainObject(o.redis)) {
      this.client = o.redis === undefined ? new IORedis() : new IORedis(o.redis);
      this.ownClient = true;
    } else {
      throw invalidOption('type', 'RedisStore option redis must be a redis:// URL, ioredis options, or an ioredis client');
    }
    this.client.defineCommand('rwsAppend', { numberOfKeys: 2, lua: APPEND_LUA });
    this.client.defineCommand('rwsTrimAge', { numberOfKeys: 1, lua: TRIM_AGE_LUA });
    this.client.defineCommand('rwsRelease', { numberOfKeys: 1, lua: RELEASE_LUA });
    /** @type {Map<string, Promise<Tail>>} */
    this.tails = new Map();
    /** @type {Map<string, number>} highest id seen per stream (the floor for append) */
    this.floors = new Map();
    this.closed = false;
    this.downSince = 0;
    this.onError = (err) => this.failed(err);
    this.onReady = () => this.healthy();
    this.client.on('error', this.onError);
    this.client.on('ready', this.onReady);
    this.trimTimer = null;
    if (this.maxAge > 0) {
      this.trimTimer = setInterval(() => this.trimAge(), Math.max(1000, Math.floor(this.maxAge / 10)));
      this.trimTimer.unref();
    }
  }

  eventsKey(stream) { return `${this.prefix}{${stream}}:events`; }

  seqKey(stream) { return `${this.prefix}{${stream}}:seq`; }

  /** Reports an outage once (ioredis retries on its own and reports every failed attempt). */
  failed(err) {
    if (this.closed) return;
    if (this.downSince === 0) {
      this.downSince = Date.now();
      if (this.listenerCount('error') > 0) this.emit('error', err);
    }
  }

  healthy() {
    if (this.downSince === 0) return;
    const downMs = Date.now() - this.downSince;
    this.downSince = 0;
    this.emit('recovered', { downMs });
  }

  noteId(stream, id) {
    if (id > (this.floors.get(stream) || 0)) this.floors.set(stream, id);
  }

  /**
   * @param {string} stream
   * @param {string} data JSON text
   * @returns {Promise<number>} the id Redis assigned
   */
  async append(stream, data) {
    if (this.closed) throw closedError();
    const seed = this.seed === null ? clockFirstId() - 1 : this.seed;
    const floor = this.floors.get(stream) || 0;
    const id = Number(await this.client.rwsAppend(this.eventsKey(stream), this.seqKey(stream), data,
      String(floor), String(seed), String(this.maxEvents), String(Date.now())));
    this.noteId(stream, id);
    return id;
  }

  /**
   * One consistent snapshot (MULTI): events after `after`, the oldest retained id, the counter.
   *
   * @param {string} stream
   * @param {number} after
   * @param {number} limit
   */
  async read(stream, after, limit) {
    if (this.closed) throw closedError();
    const key = this.eventsKey(stream);
    const res = await this.client.multi()
      .xrange(key, `${after + 1}-0`, '+', 'COUNT', limit)
      .xrange(key, '-', '+', 'COUNT', 1)
      .get(this.seqKey(stream))
      .exec();
    for (const [err] of res) if (err) throw err;
    const events = res[0][1].map(([id, fields]) => ({ id: entryId(id), data: dataField(fields) }));
    const first = res[1][1];
    const latest = Number(res[2][1] || 0);
    this.noteId(stream, latest);
    return { events, oldest: first.length ? entryId(first[0][0]) : null, latest };
  }

  /**
   * @param {string} stream
   * @param {(event: {id: number, data: string}) => void} listener
   * @returns {Promise<() => void>} unsubscribe
   */
  async subscribe(stream, listener) {
    if (this.closed) throw closedError();
    let tail = this.tails.get(stream);
    if (!tail) {
      tail = Tail.start(this, stream);
      this.tails.set(stream, tail);
      tail.catch(() => this.tails.delete(stream)); // a later subscribe tries again
    }
    const t = await tail;
    t.listeners.add(listener);
    return () => t.listeners.delete(listener);
  }

  /** SET NX with a lease; 'done' and 'busy' are read back when the key exists. */
  async claimKey(key, leaseMs) {
    const k = `${this.prefix}key:${key}`;
    for (let i = 0; i < 3; i++) {
      if (await this.client.set(k, 'busy', 'PX', leaseMs, 'NX')) return 'claimed';
      const v = await this.client.get(k);
      if (v === 'done') return 'done';
      if (v === 'busy') return 'busy';
      // Expired between the two calls: claim again.
    }
    return 'busy';
  }

  async completeKey(key, ttlMs) {
    await this.client.set(`${this.prefix}key:${key}`, 'done', 'PX', ttlMs);
  }

  async releaseKey(key) {
    await this.client.rwsRelease(`${this.prefix}key:${key}`);
  }

  /** Drops entries older than maxAge from every stream this node knows (MINID). */
  async trimAge() {
    const cutoff = String(Date.now() - this.maxAge);
    for (const stream of new Set([...this.floors.keys(), ...this.tails.keys()])) {
      try {
        await this.client.rwsTrimAge(this.eventsKey(stream), cutoff);
      } catch (err) {
        this.failed(err);
      }
    }
  }

  /** Stops tailing and, if this store created it, disconnects the client. Idempotent. */
  async close() {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.trimTimer);
    const tails = await Promise.allSettled([...this.tails.values()]);
    for (const t of tails) if (t.status === 'fulfilled') t.value.stop();
    this.tails.clear();
    this.client.off('error', this.onError);
    this.client.off('ready', this.onReady);
    if (this.ownClient) {
      try { await this.client.quit(); } catch { this.client.disconnect(); }
    }
  }
}

/**
 * One stream tailed by this node on its own connection (XREAD BLOCK holds a connection), handing
 * every new entry to the local subscribers in id order.
 */
class Tail {
  /** @returns {Promise<Tail>} once the starting position is known */
  static async start(store, stream) {
    const tail = new Tail(store, stream);
    // Start at the counter: every id at or below it is already in the stream (one script adds
    // both), so a read() issued after this resolves sees everything the tail will not deliver.
    tail.pos = Number((await store.client.get(store.seqKey(stream))) || 0);
    store.noteId(stream, tail.pos);
    tail.conn = store.client.duplicate({ maxRetriesPerRequest: null });
    tail.conn.on('error', () => {}); // reported once through the main client
    tail.run();
    return tail;
  }

  constructor(store, stream) {
    this.store = store;
    this.stream = stream;
    this.key = store.eventsKey(stream);
    this.listeners = new Set();
    this.pos = 0;
    this.conn = null;
    this.stopped = false;
  }

  async run() {
    let backoff = 50;
    while (!this.stopped) {
      let res;
      try {
        res = await this.conn.xread('COUNT', 1000, 'BLOCK', this.store.blockMs, 'STREAMS', this.key, `${this.pos}-0`);
        backoff = 50;
      } catch (err) {
        if (this.stopped) return;
        this.store.failed(err);
        await sleep(backoff);
        backoff = Math.min(2000, backoff * 2);
        continue;
      }
      if (!res) continue;
      for (const [, entries] of res) {
        for (const [rawId, fields] of entries) {
          const id = entryId(rawId);
          if (id <= this.pos) continue;
          this.pos = id;
          const event = { id, data: dataField(fields) };
          for (const listener of this.listeners) {
            try { listener(event); } catch (err) { process.emitWarning(err); }
          }
        }
      }
      this.store.noteId(this.stream, this.pos);
    }
  }

  stop() {
    this.stopped = true;
    this.listeners.clear();
    this.conn.disconnect();
  }
}

function closedError() {
  const err = new Error('The store is closed');
  err.code = 'ERR_STORE_CLOSED';
  return err;
}

module.exports = { RedisStore, loadIoredis };
