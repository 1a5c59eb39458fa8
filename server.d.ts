// Public types of `resilient-ws/server`, the server companion, written by hand (like binding.d.ts):
// every option states its unit, default and accepted values; every event its payload. Keep in step
// with lib/server/server-options.js (options), lib/server/resilient-server.js (methods, events),
// lib/server/server-stats.js (counters) and the stores. test/types/server-example.ts exercises it.
//
//   const { ResilientServer, MemoryStore, RedisStore } = require('resilient-ws/server');
//   import { ResilientServer } from 'resilient-ws/server';
//
// Units everywhere: durations in milliseconds, sizes in bytes. The wire protocol these speak is
// documented in the README ("Wire protocol").

/// <reference types="node" />

import { EventEmitter } from 'node:events';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';

export = resilientWsServer;

declare namespace resilientWsServer {
  // Structural stand-ins for the `ws` classes, so these types need no @types/ws.

  /** A `ws` WebSocketServer (what option `wss` accepts). */
  interface WebSocketServer extends EventEmitter {
    handleUpgrade(...args: any[]): void;
    readonly clients: Set<WebSocket>;
  }

  /** A `ws` WebSocket (the connection handed to the handler). */
  interface WebSocket extends EventEmitter {
    readonly readyState: number;
    send(data: string | Buffer, cb?: (err?: Error) => void): void;
    close(code?: number, reason?: string): void;
    terminate(): void;
  }

  /** A retained event: its id and the JSON text of its `data`. */
  interface StoredEvent {
    /** Per stream: 1 more than the previous event's id (or `firstId` for the first). */
    id: number;
    /** JSON text of the published value. */
    data: string;
  }

  /** What `read()` returns: one consistent snapshot. */
  interface ReadResult {
    /** Events with id > `after`, oldest first, at most `limit`. */
    events: StoredEvent[];
    /** Oldest retained id; `null` when nothing is retained. */
    oldest: number | null;
    /** Newest assigned id; 0 before the first event. */
    latest: number;
  }

  /**
   * The one small interface both stores implement (and your own may): the server needs nothing
   * else. Emitting `'error'`/`'recovered'` is optional; the server reports them as
   * `store-error`/`store-recovered`.
   */
  interface EventStore {
    /** Assigns the stream's next id, keeps the event, fans it out to subscribers (on every node). */
    append(stream: string, data: string): Promise<number>;
    /** Events after `after` plus the retained range, in one consistent snapshot. */
    read(stream: string, after: number, limit: number): Promise<ReadResult>;
    /**
     * Calls `listener` for every event appended after the returned promise resolves, in id order
     * (and possibly for some earlier ones; the server drops ids it already sent).
     * Resolves with an unsubscribe function.
     */
    subscribe(stream: string, listener: (event: StoredEvent) => void): Promise<() => void>;
    /** `'claimed'`: process it; `'busy'`: someone is processing it; `'done'`: processed already. */
    claimKey(key: string, leaseMs: number): Promise<'claimed' | 'busy' | 'done'>;
    /** Marks `key` processed for `ttlMs`. */
    completeKey(key: string, ttlMs: number): Promise<void>;
    /** Drops a claim whose processing failed (a 'done' mark stays). */
    releaseKey(key: string): Promise<void>;
    close(): Promise<void>;
    on?(event: 'error' | 'recovered', listener: (...args: any[]) => void): this;
    off?(event: 'error' | 'recovered', listener: (...args: any[]) => void): this;
  }

  interface MemoryStoreOptions {
    /** Events kept per stream. Integer 1 … 2^32. @default 10000 */
    maxEvents?: number;
    /** Bytes kept per stream (payload + ~64 bytes of overhead per event). Integer ≥ 1024. @default 67108864 (64 MiB) */
    maxBytes?: number;
    /** Events older than this are dropped; 0 = no age limit. Milliseconds. @default 3600000 (1 h) */
    maxAge?: number;
    /** Idempotency keys remembered (oldest evicted first); each also expires after the server's `keyTtl`. @default 100000 */
    maxKeys?: number;
    /**
     * Id of a stream's first event. `'clock'`: microseconds since the epoch at the stream's
     * creation, so a restarted process never reuses an id a client may still hold (the client's
     * dedupe window would silently drop a reused id). A fixed number suits tests and demos.
     * @default 'clock'
     */
    firstId?: 'clock' | number;
  }

  /** In-process store (the default). One node only. */
  class MemoryStore extends EventEmitter implements EventStore {
    constructor(options?: MemoryStoreOptions);
    append(stream: string, data: string): Promise<number>;
    read(stream: string, after: number, limit: number): Promise<ReadResult>;
    subscribe(stream: string, listener: (event: StoredEvent) => void): Promise<() => void>;
    claimKey(key: string, leaseMs: number): Promise<'claimed' | 'busy' | 'done'>;
    completeKey(key: string, ttlMs: number): Promise<void>;
    releaseKey(key: string): Promise<void>;
    close(): Promise<void>;
  }

  interface RedisStoreOptions {
    /**
     * A `redis://` URL, ioredis options, or an ioredis client (which the store then does not quit
     * on close). Needs the `ioredis` package (5.x), an optional peer dependency.
     * @default a new ioredis client to localhost:6379
     */
    redis?: string | object;
    /** Prefix of every key. @default 'rws:' */
    prefix?: string;
    /** Approximate stream length kept (`XADD MAXLEN ~`; Redis trims whole nodes, so a little more is kept). @default 100000 */
    maxEvents?: number;
    /** Entries older than this are trimmed (`XTRIM MINID`, every maxAge/10 ≥ 1 s); 0 = off. Milliseconds. @default 0 */
    maxAge?: number;
    /** As for MemoryStore; applies when the stream's counter does not exist yet. @default 'clock' */
    firstId?: 'clock' | number;
    /** How long one `XREAD BLOCK` waits before it is issued again. Milliseconds 10 … 60000. @default 5000 */
    blockMs?: number;
  }

  /**
   * Redis Streams, for several nodes: ids from one atomic script (`INCR` + `XADD`), fan-out by
   * `XREAD BLOCK` on one extra connection per stream and node, replay by `XRANGE`, keys by
   * `SET NX PX`. Emits `'error'` once per outage and `'recovered'` (`{ downMs }`) after it.
   */
  class RedisStore extends EventEmitter implements EventStore {
    /** @throws Error with code `'ERR_MISSING_DEPENDENCY'` when ioredis is not installed. */
    constructor(options?: RedisStoreOptions);
    append(stream: string, data: string): Promise<number>;
    read(stream: string, after: number, limit: number): Promise<ReadResult>;
    subscribe(stream: string, listener: (event: StoredEvent) => void): Promise<() => void>;
    claimKey(key: string, leaseMs: number): Promise<'claimed' | 'busy' | 'done'>;
    completeKey(key: string, ttlMs: number): Promise<void>;
    releaseKey(key: string): Promise<void>;
    /** Stops tailing; quits the Redis client if the store created it. */
    close(): Promise<void>;
  }

  /** What the handler gets besides the message. */
  interface MessageContext {
    /** The idempotency key (the `keyField` value); undefined for messages without one. */
    key: string | undefined;
    /** The stream of this connection. */
    stream: string;
    /** The upgrade request (headers, URL). */
    req: IncomingMessage;
    /** The connection (`ws` WebSocket). */
    ws: WebSocket;
    /** Whether the message was a binary frame (then it is a Buffer). */
    isBinary: boolean;
    /** Whether the connection is still open. */
    open(): boolean;
  }

  /**
   * The application's handler for inbound messages: parsed JSON, the text when it is not JSON,
   * or a Buffer for binary frames. For messages with a key it runs once per key; the ack is sent
   * after it resolves. Throwing (or rejecting) means "not processed": no ack, the client re-sends
   * after its next reconnect.
   */
  type MessageHandler = (message: unknown, ctx: MessageContext) => void | Promise<void>;

  interface ResumeRoutes {
    /** Query parameter carrying the position (client `resume.via: 'query'`); `false` ignores it. @default 'after' */
    query?: string | false;
    /** Header carrying the position (client `via: 'header'`); `false` ignores it. @default 'Last-Event-ID' */
    header?: string | false;
    /**
     * How a sync message (client `via: 'message'`) is recognised: fields it must have (dotted
     * paths allowed) and the field with the position. `false`: no waiting for one.
     * @default { match: { type: 'sync' }, field: 'lastEventId' }
     */
    sync?: false | { match?: Record<string, string | number | boolean | null>; field?: string };
    /**
     * A connection with neither query nor header position waits this long for a sync message
     * as its first message (live events are held meanwhile, not lost); then it starts live.
     * Milliseconds; 0 = do not wait. @default 500
     */
    syncTimeout?: number;
  }

  interface ServerOptions {
    /** Attach to this `ws` WebSocketServer (it may use `noServer`). Exactly one of wss, server, port. */
    wss?: WebSocketServer;
    /** Handle upgrades on this http(s).Server. */
    server?: HttpServer | HttpsServer;
    /** Listen on this port (0: any; see `port` and `listening`). */
    port?: number;
    /** With `port`: the address to bind. @default all interfaces */
    host?: string;
    /** With `server` or `port`: only upgrades to this path. @default any path */
    path?: string;
    /** Where events and keys live. @default new MemoryStore() (closed by close()/shutdown()) */
    store?: EventStore;
    /**
     * Which stream a connection reads. @default () => 'default' (and the default stream is
     * subscribed before `listening` resolves, so a fresh client gets every event published after
     * its upgrade; with a custom function, after its session subscribed)
     */
    stream?: (req: IncomingMessage) => string;
    /** Field of event messages carrying the id (client `resume.idField`; dotted = nested). @default 'id' */
    idField?: string;
    /** Value of the `type` field of event messages; `null` omits the field. @default 'event' */
    eventType?: string | null;
    /** Where clients say where they stopped. */
    resume?: ResumeRoutes;
    /** Field of inbound JSON objects holding the idempotency key (client `outbox.keyField`). @default 'key' */
    keyField?: string;
    /** The ack message: `match` fields plus the key at `keyField` (client `outbox.ack`). @default { keyField: 'key', match: { type: 'ack' } } */
    ack?: { keyField?: string; match?: Record<string, string | number | boolean | null> };
    /** The application's handler. Without one, keyed messages are still deduplicated and acked. */
    onMessage?: MessageHandler;
    /** How long a processed key is remembered (re-sends within it are acked, not handled). Milliseconds. @default 86400000 (1 day) */
    keyTtl?: number;
    /**
     * How long a claim on a key holds while its handler runs. A node killed mid-handler leaves a
     * claim that another node takes over after this long; a handler running longer than this
     * could run twice. Milliseconds ≥ 100. @default 30000
     */
    keyLease?: number;
    /** Ping clients silent for `interval`; terminate those silent `timeout` longer. `false` disables. @default { interval: 30000, timeout: 10000 } */
    ping?: false | { interval?: number; timeout?: number };
    /** A client whose unsent data exceeds this is terminated (it resumes on reconnect). @default 16777216 (16 MiB) */
    maxBufferedBytes?: number;
    /** Largest inbound message (ws `maxPayload`, when this server creates the WebSocketServer): larger → close 1009. @default 16777216 */
    maxMessageSize?: number;
    /** Events per store read during a replay. @default 1000 */
    replayPageSize?: number;
    /** Live events held for one connection while its replay runs; beyond → close 1013 (the client resumes). @default 100000 */
    maxPendingEvents?: number;
  }

  /** Counters (`stats()`); everything counts since the server was created. */
  interface ServerStats {
    /** Open right now. */
    connections: number;
    connectionsTotal: number;
    disconnects: number;
    /** Close code → count, as `ws` reports it (1006: no close frame came back). */
    disconnectsByCode: Record<string, number>;
    /** Events published through this server object. */
    published: number;
    /** Event messages sent (live and replayed). */
    delivered: number;
    /** Connections that came with a position (a replay, possibly empty, or a reset). */
    replays: number;
    replayedEvents: number;
    /** Reset messages sent. */
    resets: number;
    /** Positions that arrived as a sync message. */
    syncMessages: number;
    /** Sync messages ignored because the connection was already live. */
    lateSyncs: number;
    /** Acks for messages the handler processed. */
    acks: number;
    /** Re-sent keys acked from the mark without calling the handler. */
    duplicates: number;
    /** Messages whose key another connection or node had claimed: waited until it was done (or its claim expired). */
    keyWaits: number;
    handlerErrors: number;
    /** Unusable inbound messages (a key that is not a 1–1024 character string). */
    badMessages: number;
    livenessTerminations: number;
    slowConsumerTerminations: number;
    storeErrors: number;
  }

  /** The reset message, sent instead of a partial replay (README "Wire protocol"). */
  interface ResetMessage {
    type: 'reset';
    /** `'position-too-old'`: events after it are no longer retained; `'position-unknown'`: the stream never assigned it. */
    reason: 'position-too-old' | 'position-unknown';
    /** The position the client gave. */
    after: number;
    oldest: number | null;
    latest: number;
  }

  interface ServerEvents {
    /** A connection was accepted. */
    connection: [info: { stream: string; url: string | undefined }];
    /** A connection's position is known (`after: null`, `via: 'none'`: a fresh client). */
    resume: [info: { stream: string; via: 'query' | 'header' | 'message' | 'none'; after: number | null }];
    reset: [info: ResetMessage & { stream: string }];
    'handler-error': [error: unknown, info: { key?: string; stream: string | null }];
    /** The store failed (Redis down…): reported once per outage by the Redis store, and per failed step. */
    'store-error': [error: Error, info: { step: string }];
    'store-recovered': [info: { downMs?: number }];
  }

  class ResilientServer extends EventEmitter {
    /** @throws TypeError/RangeError with code `'ERR_INVALID_OPTION'` naming the option. */
    constructor(options: ServerOptions);
    /** Resolves when listening (option `port`) and the default stream is subscribed. */
    readonly listening: Promise<void>;
    /** The listening port with option `port`, once `listening` resolved. */
    readonly port: number | undefined;
    readonly store: EventStore;
    /**
     * Publishes `data` (any JSON value) as the next event of `stream` (default `'default'`) and
     * resolves with its id. Rejects when the store does (Redis down longer than ioredis retries).
     */
    publish(data: unknown, options?: { stream?: string }): Promise<number>;
    stats(): ServerStats;
    /**
     * Closes every client with 1012 (`'restart'`, the default) or 1001 (`'deploy'`), waits up to
     * `timeout` (default 5000 ms) for them to close, then terminates the rest; closes what this
     * server created (its WebSocketServer, its memory store). Idempotent.
     */
    shutdown(options?: { reason?: 'restart' | 'deploy'; timeout?: number }): Promise<void>;
    /** `shutdown({ reason: 'deploy' })`. */
    close(): Promise<void>;

    on<E extends keyof ServerEvents>(event: E, listener: (...args: ServerEvents[E]) => void): this;
    once<E extends keyof ServerEvents>(event: E, listener: (...args: ServerEvents[E]) => void): this;
    off<E extends keyof ServerEvents>(event: E, listener: (...args: ServerEvents[E]) => void): this;
  }

  /** `{ restart: 1012, deploy: 1001 }` */
  const SHUTDOWN_CODES: { readonly restart: 1012; readonly deploy: 1001 };
}
