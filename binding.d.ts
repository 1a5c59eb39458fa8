// Public types of resilient-ws, written by hand. They are also the reference documentation:
// every option states its unit, default and accepted values; every event its payload and when it
// fires; every error code what it means. Keep them in step with lib/options.js (options),
// lib/resilient-socket.js (events, methods), lib/errors.js (codes) and
// native/binding/native_socket.cpp (stats()); test/types/ type-checks this file against the
// error table in lib/errors.js and exercises the API.
//
// One file serves both module systems: the package is CommonJS (`module.exports = { ... }`) and
// lib/index.mjs re-exports the same objects, so `export =` describes both:
//   const { ResilientSocket } = require('resilient-ws');
//   import { ResilientSocket } from 'resilient-ws';      // ESM, or CommonJS TS with esModuleInterop
//   import rws from 'resilient-ws';                      // default import = the CommonJS exports object
//
// Units everywhere: durations in milliseconds, sizes in bytes.

/// <reference types="node" />

import { EventEmitter } from 'node:events';

export = resilientWs;

declare namespace resilientWs {
  // ---------------------------------------------------------------------------------------------
  // States
  // ---------------------------------------------------------------------------------------------

  /**
   * The life of a socket:
   *
   * `idle` (only with `autoConnect: false`, until `connect()`) → `connecting` → `open` →
   * `reconnecting` → `connecting` → … → `closing` → `closed`, or the terminal `failed`
   * (a terminal error, or `reconnect.maxRetries` exhausted).
   *
   * `closed` and `failed` are final: the native handle is released, the socket holds nothing, and
   * a new `ResilientSocket` is needed to connect again.
   */
  type SocketState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closing' | 'closed' | 'failed';

  // ---------------------------------------------------------------------------------------------
  // Options
  // ---------------------------------------------------------------------------------------------

  /**
   * The URL argument of the constructor: one `ws://` or `wss://` URL, or a non-empty failover
   * list that successive attempts walk round-robin. A `#fragment` is ignored. Credentials in the
   * URL (`wss://user:pass@host`) are used for the connection but never appear in `url`, events,
   * error messages or logs.
   */
  type ResilientSocketUrl = string | URL | ReadonlyArray<string | URL>;

  /**
   * Constructor options. Every field is optional. Invalid values (wrong type, out of range,
   * unknown key — a typo never silently means "default") throw a `TypeError` or `RangeError` with
   * `code: 'ERR_INVALID_OPTION'` from the constructor, naming the option and the accepted values.
   */
  interface ResilientSocketOptions {
    /**
     * WebSocket subprotocols offered in `Sec-WebSocket-Protocol`, in order of preference; the one
     * the server picked is `open.protocol`. Each must be an RFC 6455 token; no repeats.
     * @default []
     */
    protocols?: string | readonly string[];

    /**
     * Extra HTTP headers for the upgrade request (e.g. `Authorization`). Names must be valid
     * header tokens; values must not contain CR, LF or NUL. The handshake's own headers (`Host`,
     * `Upgrade`, `Connection`, `Sec-WebSocket-*`) are rejected: use `protocols` and
     * `perMessageDeflate` instead. Values are never echoed in events or errors.
     * @default {}
     */
    headers?: Readonly<Record<string, string | number>>;

    /**
     * Deadline for one whole attempt: DNS + TCP + TLS + HTTP upgrade. Expiry fails the attempt
     * with `ERR_CONNECT_TIMEOUT` (then backoff). Milliseconds, integer 1 … 2^31-1.
     * @default 10000
     */
    connectTimeout?: number;

    /**
     * Reconnection with jittered exponential backoff. `true` or an object (missing fields take
     * their defaults) enables it; `false` disables it: the first failed attempt then ends in
     * `failed`, and a dropped open connection ends in `closed`.
     * @default true
     */
    reconnect?: boolean | ReconnectOptions;

    /**
     * Dead-peer detection. `true` or an object (missing fields take their defaults) enables it;
     * `false` disables it (a dead TCP connection may then look open for many minutes).
     * Worst-case detection time is `interval + timeout` from the last inbound byte.
     * @default true
     */
    heartbeat?: boolean | HeartbeatOptions;

    /**
     * Catch-up after a reconnect: remember the id of the last message delivered and ask the
     * server to replay from it; replayed duplicates are dropped. `true` enables it with every
     * default; an object configures it; `false`/absent leaves it off.
     * @default false
     */
    resume?: boolean | ResumeOptions;

    /**
     * Where `send()` keeps messages until delivered. Absent: an in-memory queue. With `path`: a
     * crash-safe file log that survives process restarts.
     * @default { maxMessages: 10000, maxBytes: 16777216, onFull: 'reject', guarantee: 'written' } (in memory)
     */
    outbox?: OutboxOptions;

    /**
     * Largest inbound message accepted, after permessage-deflate inflation. A larger one closes
     * the connection with 1009 (`ERR_MESSAGE_TOO_LARGE`, then reconnect) without ever allocating
     * the declared size. Bytes, integer 1 … 2^40.
     * @default 16777216 (16 MiB)
     */
    maxMessageSize?: number;

    /**
     * Offer the permessage-deflate extension (RFC 7692). Costs CPU on the io thread for every
     * message; worth it only for large, compressible text.
     * @default false
     */
    perMessageDeflate?: boolean;

    /** TLS settings for `wss://` URLs; ignored for `ws://`. Verification is on by default. */
    tls?: TlsOptions;

    /**
     * `true`: start connecting in the constructor. `false`: stay in state `idle` until
     * `connect()` (useful to attach listeners or decide later).
     * @default true
     */
    autoConnect?: boolean;

    /**
     * An HTTP proxy to tunnel through with `CONNECT` (for `ws://` and `wss://` alike; TLS to the
     * server runs inside the tunnel, verified against the server's name): `'http://[user:password@]host:port'`,
     * or `false` for a direct connection. When absent, the environment decides, as curl and
     * undici do: `https_proxy`/`HTTPS_PROXY` for `wss://` (else `http_proxy`/`HTTP_PROXY`),
     * `http_proxy`/`HTTP_PROXY` for `ws://`, lower case first, and `no_proxy`/`NO_PROXY` (comma-
     * or space-separated: `*`, host names that also cover their subdomains, `.domain`, IP
     * addresses, each optionally `:port`) goes direct. Only `http://` proxy URLs are accepted
     * (an unusable one in the environment is reported once as a process warning, code
     * `RESILIENT_WS_PROXY_ENV`, and the socket connects directly).
     * A 407 answer (or 401 for wrong credentials) ends in `failed` with `ERR_PROXY_AUTH`; an unreachable proxy or a refused
     * tunnel is retried with `ERR_PROXY`. Credentials never appear in messages or events.
     * @default from the environment
     */
    proxy?: string | false;

    /**
     * What a 3xx answer to the upgrade does. `false`: `failed` with `ERR_HANDSHAKE_REJECTED`
     * (`.status`, `.headers.location`). A number (0 … 20): follow that many redirects within one
     * attempt — to `ws://`/`wss://` (or `http://`/`https://`, mapped to them), never from
     * `wss://` down to `ws://`; the URL's credentials and every configured header are dropped
     * when the redirect leaves the origin (any header may be a credential). A redirect keeps the
     * proxy decision of the URL it came from. Reconnects start again from the configured URL.
     * @default false
     */
    followRedirects?: false | number;
  }

  /**
   * How `reconnect.jitter` randomises each backoff delay `d` (after the `maxDelay` cap, so a
   * fleet of clients never falls into lockstep at the ceiling):
   * - `'full'`: uniform in `0 … d` (recommended: spreads reconnect storms best);
   * - `'equal'`: `d/2` + uniform `0 … d/2`;
   * - a number `f` from 0 to 1: uniform in `d·(1−f) … d·(1+f)` (may exceed `maxDelay` by `f·d`);
   * - `'none'` or `false`: exactly `d` (deterministic; for tests — clients retry in lockstep).
   */
  type ReconnectJitter = 'full' | 'equal' | 'none' | false | number;

  /**
   * Backoff between attempts. The delay before retry n (n = 1 after the first failure) is
   * `min(maxDelay, initialDelay · multiplier^(n−1))`, then jittered. 429 and 503 answers are
   * retried no sooner than their `Retry-After` (capped at 10 minutes). 401/403 (`ERR_AUTH`),
   * 400/404 (`ERR_HANDSHAKE_REJECTED`), TLS verification failures (`ERR_TLS_VERIFY`) and the
   * close codes in `stopOnCloseCodes` are never retried.
   */
  interface ReconnectOptions {
    /**
     * Base of the exponential curve: the delay before the first retry. Milliseconds,
     * integer 0 … 2^31-1.
     * @default 1000
     */
    initialDelay?: number;

    /**
     * Cap of the curve (before jitter). Milliseconds, integer 0 … 2^31-1, at least `initialDelay`.
     * @default 30000
     */
    maxDelay?: number;

    /**
     * Growth of the delay per failed attempt. Any finite number from 1 (flat) to 100.
     * @default 2
     */
    multiplier?: number;

    /**
     * Randomisation of each delay: `'full'`, `'equal'`, `'none'`/`false`, or a fraction 0 … 1.
     * See {@link ReconnectJitter}.
     * @default 'full'
     */
    jitter?: ReconnectJitter;

    /**
     * After a connection that stayed open at least `stableAfter` ms drops, the first retry goes
     * at once (delay 0) — the usual cause is a server restart or a load balancer cut, and the
     * peer is likely back. Later retries follow the curve.
     * @default true
     */
    immediate?: boolean;

    /**
     * The attempt counter (and so the backoff curve) resets only after a connection stayed open
     * this long, so a server that accepts and immediately drops does not cause a tight loop.
     * Milliseconds, integer 0 … 2^31-1.
     * @default 5000
     */
    stableAfter?: number;

    /**
     * Retries allowed after the first failed attempt before giving up with `failed`
     * (`ERR_RETRIES_EXHAUSTED`); the count resets once a connection is stable (`stableAfter`).
     * `0` means no retry at all. Integer ≥ 0, or `Infinity`.
     * @default Infinity
     */
    maxRetries?: number;

    /**
     * Close codes from the server that end in `failed` (`ERR_CLOSED_BY_SERVER`, `.closeCode`)
     * instead of a retry. Replaces the default list (pass `[]` to retry on every code).
     * Integers 1000 … 4999.
     * @default [1008, 4401, 4403]
     */
    stopOnCloseCodes?: readonly number[];
  }

  /**
   * The heartbeat: when nothing arrived for `interval` ms, a probe is sent; when nothing (a pong
   * or any other frame) arrives within `timeout` ms after it, the connection is declared dead,
   * closed with 4000 (`ERR_HEARTBEAT_TIMEOUT`) and reconnected. It runs on the io thread, so a
   * blocked JavaScript event loop cannot make it miss a deadline, and server pings are answered
   * even while JavaScript is busy. After a machine suspend/resume the connection is probed at once.
   */
  interface HeartbeatOptions {
    /**
     * Inbound silence after which a probe is sent. Any inbound traffic restarts the wait, so a
     * busy connection sends no probes. Milliseconds, integer 1 … 2^31-1.
     * @default 15000
     */
    interval?: number;

    /**
     * Time allowed for an answer to a probe before the connection counts as dead.
     * Milliseconds, integer 1 … 2^31-1.
     * @default 5000
     */
    timeout?: number;

    /**
     * `'ping'`: WebSocket ping frames (every compliant server answers). `'message'`: for servers
     * or proxies that hide ping/pong — sends `message` as a text message and treats a text message
     * equal to `pong` as the answer.
     * @default 'ping'
     */
    mode?: 'ping' | 'message';

    /**
     * `mode: 'message'` only: the text message sent as the probe. Non-empty.
     * @default 'ping'
     */
    message?: string;

    /**
     * `mode: 'message'` only: the exact text message that counts as the answer. It is consumed,
     * never delivered as a `message` event. Non-empty.
     * @default 'pong'
     */
    pong?: string;
  }

  /**
   * Resume: on every reconnect with a known last event id, the server is told where to continue.
   * With an outbox `path`, the last id is persisted beside the outbox (grouped writes, so after a
   * crash a few events may be replayed again — and then dropped as duplicates).
   */
  interface ResumeOptions {
    /**
     * Field of inbound JSON text messages that carries the event id: a top-level name or a dotted
     * path (`'meta.id'`). String and number ids are both accepted. Messages without it are
     * delivered normally, with no `info.id`. Non-empty.
     * @default 'id'
     */
    idField?: string;

    /**
     * How the last id reaches the server on reconnect:
     * - `'query'`: `?<param>=<id>` added to the URL;
     * - `'header'`: an upgrade request header `<param>: <id>`;
     * - `'message'`: `param` sent as the first text message with `{{id}}` replaced by the id
     *   (a JSON number when the id is all digits, else a JSON string), before the outbox flushes.
     * @default 'query'
     */
    via?: 'query' | 'header' | 'message';

    /**
     * Depends on `via`: the query parameter name (default `'after'`); the header name, a valid
     * header token (default `'Last-Event-ID'`); or the message template, which must contain
     * `{{id}}` (default `'{"type":"sync","lastEventId":{{id}}}'`). Non-empty.
     * @default 'after' | 'Last-Event-ID' | '{"type":"sync","lastEventId":{{id}}}'
     */
    param?: string;

    /**
     * How many recently delivered ids are remembered to drop replayed duplicates (counted in
     * `stats().duplicatesDropped`). Memory grows with it (one entry per id). Integer 1 … 10,000,000.
     * @default 10000
     */
    window?: number;

    /**
     * Recognises the server's "cannot replay from your position" message among messages without
     * an id: fields (top-level or dotted) and the values they must have. The message is still
     * delivered as `'message'`; the `resilient-ws:resume:reset` diagnostics channel reports it.
     * `false`: look for none. The default matches the server companion's reset.
     * @default { type: 'reset' }
     */
    resetMatch?: Record<string, string | number | boolean | null> | false;
  }

  /** How an inbound acknowledgement is recognised (`outbox.guarantee: 'acked'`). */
  interface OutboxAckOptions {
    /**
     * Field of the ack message that holds the acknowledged key: a top-level name or a dotted path.
     * Non-empty.
     * @default 'key'
     */
    keyField?: string;

    /**
     * Fields an inbound JSON text message must have, with exactly these values, to count as an
     * ack. Keys may be dotted paths; values are strings, numbers, booleans or `null`; at least one
     * entry. A matching message is consumed, never delivered as a `message` event.
     * @default { type: 'ack' }
     */
    match?: Readonly<Record<string, string | number | boolean | null>>;
  }

  /**
   * The outbox: every `send()` goes through it. Messages go straight out while connected and the
   * outbox is empty; otherwise they queue and flush in order once the connection is open (after
   * the resume handshake).
   */
  interface OutboxOptions {
    /**
     * Directory of a crash-safe append-only file log (created if missing, owner-only
     * permissions). A process restarted with the same path redelivers every record whose `send()`
     * had resolved, in the original order. One socket per directory: a second one fails with
     * `ERR_OUTBOX_LOCKED`. Absent: the outbox lives in memory and dies with the socket. Non-empty.
     * @default undefined (in memory)
     */
    path?: string;

    /**
     * File outbox only: when records are forced to disk.
     * - `'batch'`: group commit — `send()` resolves once the batch holding it is fsynced; all
     *   sends of one tick share one fsync. Survives power loss.
     * - `'always'`: one fsync per message. Slowest.
     * - `'none'`: never fsync; survives a process crash (kill -9) but not power loss. Fastest.
     * @default 'batch'
     */
    fsync?: 'batch' | 'always' | 'none';

    /**
     * Most messages waiting to be sent. With `guarantee: 'written'`, messages already handed to an
     * open connection (at most ~1 MiB of frames) do not count: while connected, messages go
     * straight out. Integer 1 … 2^32.
     * @default 10000
     */
    maxMessages?: number;

    /**
     * Most payload bytes held undelivered. Bytes, integer 1 … Number.MAX_SAFE_INTEGER.
     * @default 16777216 (16 MiB)
     */
    maxBytes?: number;

    /**
     * What a `send()` into a full outbox does:
     * - `'reject'`: that `send()` rejects with `ERR_OUTBOX_FULL` (wait for `drain`);
     * - `'drop-oldest'`: the oldest queued messages that are not on the wire yet are evicted to
     *   make room; their `send()` promises reject with `ERR_OUTBOX_FULL`. A message already handed
     *   to the socket is never reported as dropped; when every queued message is on the wire, the
     *   new `send()` rejects instead. With a file outbox a message whose `send()` already resolved
     *   `'persisted'` is dropped without a further signal.
     * @default 'reject'
     */
    onFull?: 'reject' | 'drop-oldest';

    /**
     * When a message leaves the outbox (and, in memory, when `send()` resolves):
     * - `'written'`: once fully written to the socket (file outbox: `send()` resolves earlier,
     *   with status `'persisted'`, once the record is on disk);
     * - `'acked'`: once the server acknowledges its key (see `ack`); until then it is re-sent,
     *   with the same key, after every reconnect. `send()` resolves with status `'acked'`.
     * @default 'written'
     */
    guarantee?: 'written' | 'acked';

    /**
     * How acknowledgements look (`guarantee: 'acked'`).
     * @default { keyField: 'key', match: { type: 'ack' } }
     */
    ack?: OutboxAckOptions;

    /**
     * When set, the idempotency key of each message is written into this top-level field of
     * outgoing JSON-object text messages, so the server can drop duplicates after a re-send.
     * Binary messages and text that is not a JSON object are sent unchanged. A message that
     * already has the field keeps it, and its value is then the message's key (it must be a
     * non-empty string of at most 1024 characters, equal to `send()`'s `{ key }` if one is given:
     * `send()` throws `ERR_INVALID_OPTION` otherwise). `''` disables it.
     * @default '' (off)
     */
    keyField?: string;
  }

  /** A PEM string, a Buffer holding PEM, or a list of them (concatenated). */
  type PemInput = string | Buffer | ReadonlyArray<string | Buffer>;

  /**
   * TLS for `wss://`. TLS 1.2 or newer; SNI and host name verification are always on unless
   * `rejectUnauthorized: false`; a verification failure is terminal (`ERR_TLS_VERIFY`), never a
   * plaintext fallback. Unusable PEM input throws `ERR_INVALID_OPTION` from the constructor.
   * Sockets whose TLS options are equal (`servername` aside) share one TLS context and its
   * sessions: a socket resumes the TLS session another got from the same server (same name and
   * port) instead of a full handshake.
   */
  interface TlsOptions {
    /**
     * Trusted CA certificates, PEM. When given they *replace* the default trust store, which is
     * Node's: what `https` in the same process trusts (`tls.getCACertificates('default')` where
     * Node has it, else `tls.rootCertificates` + `NODE_EXTRA_CA_CERTS`; `--use-openssl-ca` and
     * `--use-system-ca` are honoured where that Node has them). Parsed once per environment.
     * @default Node's default CA certificates
     */
    ca?: PemInput;

    /**
     * Client certificate chain (mutual TLS), PEM.
     * @default none
     */
    cert?: PemInput;

    /**
     * Private key of `cert`, PEM.
     * @default none
     */
    key?: PemInput;

    /**
     * Passphrase of an encrypted `key`.
     * @default none
     */
    passphrase?: string;

    /**
     * `false` disables certificate and host name verification — for tests only: anyone on the
     * path can then read and change the traffic.
     * @default true
     */
    rejectUnauthorized?: boolean;

    /**
     * Name sent as SNI and checked against the certificate: a host name or an IP address
     * (anything else throws `ERR_INVALID_OPTION`). If SNI or name verification cannot be set up
     * for it, the attempt fails with `ERR_TLS_VERIFY` instead of connecting unverified.
     * @default the URL's host
     */
    servername?: string;
  }

  // ---------------------------------------------------------------------------------------------
  // send()
  // ---------------------------------------------------------------------------------------------

  /**
   * What `send()` accepts: a string goes out as a text frame (UTF-8); a Buffer, any other
   * TypedArray/DataView (its viewed bytes) or an ArrayBuffer goes out as a binary frame.
   */
  type SendData = string | ArrayBuffer | ArrayBufferView;

  /** Options of one `send()`. */
  interface SendOptions {
    /**
     * Idempotency key of this message (1 … 1024 characters). Acks (`guarantee: 'acked'`) refer to
     * it, and `outbox.keyField` writes it into the message. Pick keys unique per logical message:
     * with `guarantee: 'acked'` a key that is still waiting for its ack is refused
     * (`ERR_INVALID_OPTION`), since an ack could not tell the two messages apart.
     * @default generated: `<prefix>-<seq as 12 hex digits>`, time-ordered and unique across restarts
     */
    key?: string;
  }

  /**
   * How far a message has got when its `send()` resolves:
   * - `'written'`: fully written to the socket (in-memory outbox, `guarantee: 'written'`) — the
   *   kernel has it; the server may still not;
   * - `'persisted'`: stored in the file outbox per its `fsync` policy (`path` set,
   *   `guarantee: 'written'`) — it will be delivered, by this process or the next one on that path;
   * - `'acked'`: the server acknowledged its key (`guarantee: 'acked'`).
   */
  type ReceiptStatus = 'written' | 'persisted' | 'acked';

  /** What `send()` resolves with. */
  interface SendReceipt {
    /** The idempotency key: the one passed to `send()`, or the generated one. */
    key: string;
    /** Position in the outbox, ascending from 1 in send order; with a file outbox it continues across restarts. */
    seq: number;
    /** What the guarantee promised and is now true. */
    status: ReceiptStatus;
  }

  // ---------------------------------------------------------------------------------------------
  // Events
  // ---------------------------------------------------------------------------------------------

  /** `state`: every state change, emitted just before the event of the same step (`connecting`, `open`, `reconnecting`, `failed`, `close`). */
  interface StateEvent {
    /** The new state. */
    state: SocketState;
    /** The state before. */
    previous: SocketState;
    /** Why, when there is a reason: the retry cause (`reconnecting`), the error message (`failed`), the close reason (`closing`). */
    reason?: string;
  }

  /** `connecting`: an attempt starts (DNS, TCP, TLS, upgrade). */
  interface ConnectingEvent {
    /** Attempt number since the last stable connection: 1 for the first, then 2, 3, … */
    attempt: number;
    /** The URL of this attempt, without credentials. */
    url: string;
  }

  /** `open`: the WebSocket handshake completed; queued messages flush next. */
  interface OpenEvent {
    /** Attempt number that succeeded (see `ConnectingEvent.attempt`). */
    attempt: number;
    /** The URL connected to, without credentials (with a failover list, which one). */
    url: string;
    /** Subprotocol the server selected, or `''` when none. */
    protocol: string;
    /** `true` when this socket had been open before (this is a reconnect). */
    reconnected: boolean;
    /** The last event id sent to the server to resume from (`resume` on and an id known). */
    resumedFrom?: string;
  }

  /**
   * Second argument of `message` listeners. For messages without an id it is one shared frozen
   * object: read it, do not keep or mutate it.
   */
  interface MessageInfo {
    /** The event id found at `resume.idField` (resume on, JSON text message carrying it). */
    id?: string;
    /** `true` for replayed messages that arrived after a resume, before the first live one. */
    replayed: boolean;
  }

  /** `disconnect`: a connection that had been open ended. */
  interface DisconnectEvent {
    /**
     * Close code: the server's, or the one this client sent — 1002 protocol error, 1007 invalid
     * UTF-8, 1009 message too large, 4000 heartbeat timeout, 4001 `reconnect()` called — or 1006
     * when the connection ended without a close frame.
     */
    code: number;
    /** Close reason text (may be empty). */
    reason: string;
    /** `true` when the close handshake completed. */
    wasClean: boolean;
    /** What went wrong, when something did (`ERR_HEARTBEAT_TIMEOUT`, `ERR_CONNECTION_LOST`, `ERR_PROTOCOL`, `ERR_MESSAGE_TOO_LARGE`, `ERR_CLOSED_BY_SERVER`, …). */
    error?: ResilientSocketError;
    /** `true` when a new attempt follows (`reconnecting`/`connecting`); `false` before `failed` or `closed`. */
    willReconnect: boolean;
  }

  /** `reconnecting`: a retry is scheduled after a failed attempt or a lost connection. */
  interface ReconnectingEvent {
    /** Number of the attempt that will start after `delay`. */
    attempt: number;
    /** Wait before it, after backoff, jitter and `Retry-After`. Milliseconds. */
    delay: number;
    /** Why: the failure message, or `closed by the server with <code>`. */
    reason: string;
    /** HTTP status when the server answered the upgrade with one (e.g. 429, 502, 503). */
    status?: number;
    /** The server's `Retry-After`, converted to milliseconds (capped at 10 minutes); honoured for 429 and 503. */
    retryAfter?: number;
    /** The failure behind the retry, when there was one. */
    error?: ResilientSocketError;
  }

  /** `heartbeat`: the answer to a heartbeat probe arrived. Probes go out only after `heartbeat.interval` of silence. */
  interface HeartbeatEvent {
    /** Round-trip time of the probe. Milliseconds, fractional. */
    rtt: number;
  }

  /** `ack`: the server acknowledged an outbox message (`guarantee: 'acked'`). */
  interface AckEvent {
    /** The acknowledged idempotency key. */
    key: string;
  }

  /** `drain`: the outbox became empty after holding messages. No fields. */
  type DrainEvent = Record<string, never>;

  /** `failed`: gave up — terminal. `close` follows. */
  interface FailedEvent {
    /**
     * Why: `ERR_AUTH`, `ERR_HANDSHAKE_REJECTED`, `ERR_TLS_VERIFY`, `ERR_RETRIES_EXHAUSTED`,
     * `ERR_CLOSED_BY_SERVER`, `ERR_OUTBOX_LOCKED`, `ERR_OUTBOX_IO`, or — with `reconnect: false` —
     * the failure of the only attempt.
     */
    error: ResilientSocketError;
  }

  /** `close`: terminal, emitted exactly once; the socket then holds nothing. */
  interface CloseEvent {
    /** The code passed to `close()`; the server's close code (`reconnect: false`); after `failed`, the last connection's close code (1006 when there was none). */
    code: number;
    /** The close reason, or the error message after `failed`. */
    reason: string;
  }

  /**
   * Every event and its listener arguments, for generic helpers (`events.once`, wrappers).
   * The overloads of `on`/`once`/`off`/… on {@link ResilientSocket} are written out from this map.
   */
  interface ResilientSocketEvents {
    state: [event: StateEvent];
    connecting: [event: ConnectingEvent];
    open: [event: OpenEvent];
    /**
     * A binary message under 32 KiB is a view into a Buffer shared with the messages that arrived
     * with it (at most 64 KiB, like Node's own Buffer pool): `data.buffer` is that shared memory,
     * and keeping `data` keeps it alive. `Buffer.from(data)` copies just the message.
     */
    message: [data: string | Buffer, info: MessageInfo];
    disconnect: [event: DisconnectEvent];
    reconnecting: [event: ReconnectingEvent];
    heartbeat: [event: HeartbeatEvent];
    ack: [event: AckEvent];
    drain: [event: DrainEvent];
    failed: [event: FailedEvent];
    error: [error: ResilientSocketError];
    close: [event: CloseEvent];
  }

  /** Names of the events a `ResilientSocket` emits. */
  type ResilientSocketEventName = keyof ResilientSocketEvents;

  // ---------------------------------------------------------------------------------------------
  // The socket
  // ---------------------------------------------------------------------------------------------

  /** Counters of a socket's life, from `stats()`. Cheap to read (atomic loads on the io thread's counters). */
  interface SocketStats {
    /** Current state. */
    state: SocketState;
    /** Successful opens. */
    connects: number;
    /** Opens after the first one. */
    reconnects: number;
    /** Attempt number since the last stable connection (0 once stable). */
    attempt: number;
    /** Round-trip time of the last answered heartbeat probe, in milliseconds; `null` before the first. */
    lastRtt: number | null;
    /** Total time spent not open (connecting, waiting to retry), added up at each open. Milliseconds. */
    disconnectedMs: number;
    /** Inbound data messages, including consumed ones (acks, heartbeat pongs in `'message'` mode, dropped duplicates). */
    messagesIn: number;
    /** Payload bytes of `messagesIn`. */
    bytesIn: number;
    /** Outbox messages handed to the socket, re-sends after a reconnect included. */
    messagesOut: number;
    /** Payload bytes of `messagesOut`. */
    bytesOut: number;
    /** Replayed messages dropped because their id had been delivered (`resume`). */
    duplicatesDropped: number;
    /** Times a numeric event id jumped by more than 1 (`resume`): events that never arrived. */
    idGaps: number;
    /** Sum of those jumps: how many ids were skipped. */
    idsMissing: number;
    /** Messages in the outbox not yet delivered per the guarantee. */
    outboxSize: number;
    /** Payload bytes of `outboxSize`. */
    outboxBytes: number;
    /** Bytes of the file outbox's segment files on disk (0 without `outbox.path`). */
    outboxDiskBytes: number;
    /** Messages evicted by `outbox.onFull: 'drop-oldest'` so far. */
    outboxDropped: number;
    /** Frame bytes in the connection's write queue, not yet written (the `bufferedAmount` property also counts the outbox and this tick's sends). */
    bufferedAmount: number;
    /** Heartbeat probes sent. */
    heartbeatsSent: number;
    /** Machine suspends or badly late timers noticed (each triggers an immediate probe). */
    wakeupsDetected: number;
    /** Network changes (Linux rtnetlink: an address, link or route) that concerned the open connection and probed it at once. */
    networkChanges: number;
    /** Bytes of a torn (half-written) tail dropped when the file outbox was opened. */
    tornBytesTruncated: number;
  }

  /** A listener of EventEmitter's own `newListener`/`removeListener` events. */
  type ListenerChangeListener = (eventName: string | symbol, listener: (...args: any[]) => void) => void;

  /**
   * A WebSocket client that reconnects with jittered backoff, notices dead peers within
   * `heartbeat.interval + heartbeat.timeout`, resumes from the last event id, and keeps every
   * message passed to `send()` in its outbox until delivered.
   *
   * The network work runs on a native io thread shared by every socket of the process (or worker
   * thread); events reach JavaScript in batches, in the order they happened. Routine disconnects
   * and reconnects never emit `error`, so an application that listens only to `message` never
   * crashes because of the network.
   *
   * Lifetime: a socket that is connecting, open or reconnecting keeps the process alive (like a
   * `net.Socket`) unless `unref()`ed; an `idle` one (`autoConnect: false`, before `connect()`)
   * does not. After `close` it holds no native resources; then `send()` rejects with
   * `ERR_CLOSED`, `connect()`/`reconnect()`/`ref()`/`unref()` do nothing, and `stats()` returns
   * the final counters. Garbage collection and worker/process exit also release it, but
   * `close()` is the contract.
   */
  class ResilientSocket extends EventEmitter {
    /**
     * Validates the options and, unless `autoConnect: false`, starts the first attempt (the
     * `connecting` event follows asynchronously, so listeners attached right after construction
     * see everything).
     * @param url A `ws://`/`wss://` URL or a non-empty failover list.
     * @param options See {@link ResilientSocketOptions}.
     * @throws TypeError | RangeError with `code: 'ERR_INVALID_OPTION'` for an invalid URL or option.
     */
    constructor(url: ResilientSocketUrl, options?: ResilientSocketOptions);

    /** A number unique within the process (1, 2, …): names the socket in the `NODE_DEBUG` log and in diagnostics messages. */
    readonly id: number;

    /** Current state; starts as `'connecting'` (or `'idle'` with `autoConnect: false`). */
    readonly state: SocketState;

    /** URL of the current or last attempt, without credentials or fragment. Starts as the first URL. */
    readonly url: string;

    /**
     * Id of the last message delivered with an id (`resume`), or `undefined`. With a file
     * outbox the persisted id is loaded asynchronously just after construction.
     */
    readonly lastEventId: string | undefined;

    /**
     * Payload bytes accepted by `send()` and not yet handed to the kernel — this tick's sends,
     * the outbox's unsent messages and the connection's write queue — as in browsers and `ws`.
     * Current synchronously and cheap to read (a JS counter), so the usual `ws` backpressure loop
     * works: `while (sock.bufferedAmount < limit) sock.send(x)`. A message leaves it when its
     * last byte is written, whatever the outbox guarantee. 0 once closed.
     */
    readonly bufferedAmount: number;

    /**
     * Messages not yet delivered per the outbox guarantee, including `send()`s of the current tick
     * not yet handed to the io thread. 0 once closed (a file outbox keeps its pending records on
     * disk for the next socket on that path). Records a file outbox recovers from disk count once
     * the io thread has read them back: by the first `'connecting'` event (with
     * `autoConnect: false`, the one `connect()` brings), not necessarily right after the
     * constructor returns. Each read calls into the native side and allocates: read `stats()`
     * once instead when you need several counters.
     */
    readonly outboxSize: number;

    /**
     * Queues a message in the outbox; it goes out now if connected and nothing is queued, else in
     * order once connected. All `send()`s of one synchronous tick reach the io thread in one call
     * (and, with a file outbox, share one fsync), so sending in a loop is cheap.
     *
     * `data` is copied at the end of the current tick (a microtask after `send()` returns): do not
     * modify a Buffer you passed until then.
     *
     * @param data A string (text frame) or binary data (binary frame).
     * @param opts `key`: idempotency key (default generated).
     * @returns Resolves with a {@link SendReceipt} once the message reached the status the
     *   guarantee asks for: `'written'` (in memory), `'persisted'` (file outbox) or `'acked'`.
     *   Rejects with a {@link ResilientSocketError}: `ERR_CLOSED` (sent after `close()`, or the
     *   socket closed/failed before delivery — with a file outbox the record stays on disk for the
     *   next socket on that path), `ERR_OUTBOX_FULL` (see `outbox.onFull`), `ERR_OUTBOX_IO` (the
     *   record could not be stored; nothing was sent).
     * @throws TypeError with `code: 'ERR_INVALID_OPTION'`, synchronously, when `data` is not a
     *   string/binary or `opts.key` is not a string of 1 … 1024 characters.
     */
    send(data: SendData, opts?: SendOptions): Promise<SendReceipt>;

    /**
     * Ends the socket. When open, queued messages are written before the close frame (for at most
     * 5 s if the connection stops draining), then the close handshake runs (at most 3 s); pending timers
     * stop and the file outbox is synced and closed (its disk gets at most 5 s: sends it has not
     * confirmed by then are rejected with `ERR_CLOSED`, and its disk worker finishes the close,
     * and unlocks the directory, once the disk answers). Messages still undelivered are rejected with
     * `ERR_CLOSED` — with a file outbox they stay on disk and the next socket on that path
     * delivers them. Emits `state` (`closing`, `closed`), `disconnect` if it was open, then `close`.
     *
     * Idempotent: every call returns the same promise, and the arguments of later calls are
     * ignored. Also safe after `failed` (resolves at once).
     *
     * @param code Close code sent to the server: 1000 or 3000 … 4999. Default 1000.
     * @param reason Close reason, at most 123 UTF-8 bytes. Default `''`.
     * @returns Resolves (never rejects) once the `close` event has been emitted.
     * @throws RangeError with `code: 'ERR_INVALID_OPTION'`, synchronously, for a bad code or reason.
     */
    close(code?: number, reason?: string): Promise<void>;

    /**
     * Starts connecting when constructed with `autoConnect: false` (state `idle`); from then on
     * the socket keeps the process alive unless `unref()`ed. Does nothing in any other state, or
     * once closed.
     */
    connect(): void;

    /**
     * Drops the current connection now (emitting `disconnect` with code 4001 when open) and
     * starts a new attempt at once, skipping any pending backoff wait (from `idle` it acts like
     * `connect()`). Use it when the application knows the network changed. Does nothing once
     * closing, closed or failed.
     */
    reconnect(): void;

    /**
     * Lets the socket keep the process alive again (the default) after `unref()`. On an `idle`
     * socket it takes effect when the first attempt starts. Returns the socket.
     */
    ref(): this;

    /**
     * The socket no longer keeps the process (or worker thread) alive; it keeps working while
     * something else does. Its pending events — including `close` and the settling of `close()`'s
     * promise — are then lost if the process exits first. Returns the socket.
     */
    unref(): this;

    /**
     * A snapshot of the counters. Cheap (reads atomics, allocates one object); after `close` it
     * returns the counters as they were when the socket closed.
     */
    stats(): SocketStats;

    /**
     * Iterates over inbound messages (`data` of each `message` event) until `close`.
     * Each call creates an independent iterator with its own listeners, registered immediately;
     * `break`/`return` removes them. Messages that arrive while the loop body runs are buffered
     * without bound — a consumer slower than the server grows memory. The iterator never throws:
     * a `failed` socket simply ends it (listen to `failed` for the reason).
     */
    [Symbol.asyncIterator](): AsyncIterableIterator<string | Buffer>;

    // ---- typed events ------------------------------------------------------------------------
    // Listener exceptions do not lose the rest of a batch: the first one is rethrown afterwards as
    // an uncaught exception. Rejections of async listeners are not caught.

    /** Every state change: `{ state, previous, reason? }`. */
    on(event: 'state', listener: (event: StateEvent) => void): this;
    /** An attempt starts: `{ attempt, url }`. */
    on(event: 'connecting', listener: (event: ConnectingEvent) => void): this;
    /** Handshake done: `{ attempt, url, protocol, reconnected, resumedFrom? }`. */
    on(event: 'open', listener: (event: OpenEvent) => void): this;
    /**
     * A data message: `data` is a string for text, a Buffer for binary; `info` is `{ id?, replayed }`.
     * While this JavaScript thread is busy, messages wait in native memory; the socket stops
     * reading once they hold about 64 MiB (every message counts its real cost, about 100 bytes
     * even when empty, plus its payload) and resumes when JavaScript has taken them.
     */
    on(event: 'message', listener: (data: string | Buffer, info: MessageInfo) => void): this;
    /** An open connection ended: `{ code, reason, wasClean, error?, willReconnect }`. */
    on(event: 'disconnect', listener: (event: DisconnectEvent) => void): this;
    /** A retry is scheduled: `{ attempt, delay, reason, status?, retryAfter?, error? }`. */
    on(event: 'reconnecting', listener: (event: ReconnectingEvent) => void): this;
    /** A heartbeat probe was answered: `{ rtt }` (ms). */
    on(event: 'heartbeat', listener: (event: HeartbeatEvent) => void): this;
    /** The server acknowledged an outbox message: `{ key }`. */
    on(event: 'ack', listener: (event: AckEvent) => void): this;
    /** The outbox became empty: `{}`. */
    on(event: 'drain', listener: (event: DrainEvent) => void): this;
    /** Gave up, terminal: `{ error }`; `close` follows. */
    on(event: 'failed', listener: (event: FailedEvent) => void): this;
    /**
     * Something the application must act on (e.g. `ERR_OUTBOX_CORRUPT`). Without an `error`
     * listener it becomes a process warning instead of crashing the process.
     */
    on(event: 'error', listener: (error: ResilientSocketError) => void): this;
    /** Terminal, exactly once: `{ code, reason }`. */
    on(event: 'close', listener: (event: CloseEvent) => void): this;
    on(event: 'newListener' | 'removeListener', listener: ListenerChangeListener): this;
    /** Any of the events above, for an event name held in a variable (`E` may be a union). */
    on<E extends ResilientSocketEventName>(event: E, listener: (...args: ResilientSocketEvents[E]) => void): this;

    /** Every state change: `{ state, previous, reason? }`. */
    once(event: 'state', listener: (event: StateEvent) => void): this;
    /** An attempt starts: `{ attempt, url }`. */
    once(event: 'connecting', listener: (event: ConnectingEvent) => void): this;
    /** Handshake done: `{ attempt, url, protocol, reconnected, resumedFrom? }`. */
    once(event: 'open', listener: (event: OpenEvent) => void): this;
    /** A data message: `data` is a string for text, a Buffer for binary; `info` is `{ id?, replayed }`. */
    once(event: 'message', listener: (data: string | Buffer, info: MessageInfo) => void): this;
    /** An open connection ended: `{ code, reason, wasClean, error?, willReconnect }`. */
    once(event: 'disconnect', listener: (event: DisconnectEvent) => void): this;
    /** A retry is scheduled: `{ attempt, delay, reason, status?, retryAfter?, error? }`. */
    once(event: 'reconnecting', listener: (event: ReconnectingEvent) => void): this;
    /** A heartbeat probe was answered: `{ rtt }` (ms). */
    once(event: 'heartbeat', listener: (event: HeartbeatEvent) => void): this;
    /** The server acknowledged an outbox message: `{ key }`. */
    once(event: 'ack', listener: (event: AckEvent) => void): this;
    /** The outbox became empty: `{}`. */
    once(event: 'drain', listener: (event: DrainEvent) => void): this;
    /** Gave up, terminal: `{ error }`; `close` follows. */
    once(event: 'failed', listener: (event: FailedEvent) => void): this;
    /** Something the application must act on (e.g. `ERR_OUTBOX_CORRUPT`). */
    once(event: 'error', listener: (error: ResilientSocketError) => void): this;
    /** Terminal, exactly once: `{ code, reason }`. */
    once(event: 'close', listener: (event: CloseEvent) => void): this;
    once(event: 'newListener' | 'removeListener', listener: ListenerChangeListener): this;
    /** Any of the events above, for an event name held in a variable (`E` may be a union). */
    once<E extends ResilientSocketEventName>(event: E, listener: (...args: ResilientSocketEvents[E]) => void): this;

    addListener(event: 'state', listener: (event: StateEvent) => void): this;
    addListener(event: 'connecting', listener: (event: ConnectingEvent) => void): this;
    addListener(event: 'open', listener: (event: OpenEvent) => void): this;
    addListener(event: 'message', listener: (data: string | Buffer, info: MessageInfo) => void): this;
    addListener(event: 'disconnect', listener: (event: DisconnectEvent) => void): this;
    addListener(event: 'reconnecting', listener: (event: ReconnectingEvent) => void): this;
    addListener(event: 'heartbeat', listener: (event: HeartbeatEvent) => void): this;
    addListener(event: 'ack', listener: (event: AckEvent) => void): this;
    addListener(event: 'drain', listener: (event: DrainEvent) => void): this;
    addListener(event: 'failed', listener: (event: FailedEvent) => void): this;
    addListener(event: 'error', listener: (error: ResilientSocketError) => void): this;
    addListener(event: 'close', listener: (event: CloseEvent) => void): this;
    addListener(event: 'newListener' | 'removeListener', listener: ListenerChangeListener): this;
    /** Any of the events above, for an event name held in a variable (`E` may be a union). */
    addListener<E extends ResilientSocketEventName>(event: E, listener: (...args: ResilientSocketEvents[E]) => void): this;

    prependListener(event: 'state', listener: (event: StateEvent) => void): this;
    prependListener(event: 'connecting', listener: (event: ConnectingEvent) => void): this;
    prependListener(event: 'open', listener: (event: OpenEvent) => void): this;
    prependListener(event: 'message', listener: (data: string | Buffer, info: MessageInfo) => void): this;
    prependListener(event: 'disconnect', listener: (event: DisconnectEvent) => void): this;
    prependListener(event: 'reconnecting', listener: (event: ReconnectingEvent) => void): this;
    prependListener(event: 'heartbeat', listener: (event: HeartbeatEvent) => void): this;
    prependListener(event: 'ack', listener: (event: AckEvent) => void): this;
    prependListener(event: 'drain', listener: (event: DrainEvent) => void): this;
    prependListener(event: 'failed', listener: (event: FailedEvent) => void): this;
    prependListener(event: 'error', listener: (error: ResilientSocketError) => void): this;
    prependListener(event: 'close', listener: (event: CloseEvent) => void): this;
    prependListener(event: 'newListener' | 'removeListener', listener: ListenerChangeListener): this;
    /** Any of the events above, for an event name held in a variable (`E` may be a union). */
    prependListener<E extends ResilientSocketEventName>(event: E, listener: (...args: ResilientSocketEvents[E]) => void): this;

    prependOnceListener(event: 'state', listener: (event: StateEvent) => void): this;
    prependOnceListener(event: 'connecting', listener: (event: ConnectingEvent) => void): this;
    prependOnceListener(event: 'open', listener: (event: OpenEvent) => void): this;
    prependOnceListener(event: 'message', listener: (data: string | Buffer, info: MessageInfo) => void): this;
    prependOnceListener(event: 'disconnect', listener: (event: DisconnectEvent) => void): this;
    prependOnceListener(event: 'reconnecting', listener: (event: ReconnectingEvent) => void): this;
    prependOnceListener(event: 'heartbeat', listener: (event: HeartbeatEvent) => void): this;
    prependOnceListener(event: 'ack', listener: (event: AckEvent) => void): this;
    prependOnceListener(event: 'drain', listener: (event: DrainEvent) => void): this;
    prependOnceListener(event: 'failed', listener: (event: FailedEvent) => void): this;
    prependOnceListener(event: 'error', listener: (error: ResilientSocketError) => void): this;
    prependOnceListener(event: 'close', listener: (event: CloseEvent) => void): this;
    prependOnceListener(event: 'newListener' | 'removeListener', listener: ListenerChangeListener): this;
    /** Any of the events above, for an event name held in a variable (`E` may be a union). */
    prependOnceListener<E extends ResilientSocketEventName>(event: E, listener: (...args: ResilientSocketEvents[E]) => void): this;

    off(event: 'state', listener: (event: StateEvent) => void): this;
    off(event: 'connecting', listener: (event: ConnectingEvent) => void): this;
    off(event: 'open', listener: (event: OpenEvent) => void): this;
    off(event: 'message', listener: (data: string | Buffer, info: MessageInfo) => void): this;
    off(event: 'disconnect', listener: (event: DisconnectEvent) => void): this;
    off(event: 'reconnecting', listener: (event: ReconnectingEvent) => void): this;
    off(event: 'heartbeat', listener: (event: HeartbeatEvent) => void): this;
    off(event: 'ack', listener: (event: AckEvent) => void): this;
    off(event: 'drain', listener: (event: DrainEvent) => void): this;
    off(event: 'failed', listener: (event: FailedEvent) => void): this;
    off(event: 'error', listener: (error: ResilientSocketError) => void): this;
    off(event: 'close', listener: (event: CloseEvent) => void): this;
    off(event: 'newListener' | 'removeListener', listener: ListenerChangeListener): this;
    /** Any of the events above, for an event name held in a variable (`E` may be a union). */
    off<E extends ResilientSocketEventName>(event: E, listener: (...args: ResilientSocketEvents[E]) => void): this;

    removeListener(event: 'state', listener: (event: StateEvent) => void): this;
    removeListener(event: 'connecting', listener: (event: ConnectingEvent) => void): this;
    removeListener(event: 'open', listener: (event: OpenEvent) => void): this;
    removeListener(event: 'message', listener: (data: string | Buffer, info: MessageInfo) => void): this;
    removeListener(event: 'disconnect', listener: (event: DisconnectEvent) => void): this;
    removeListener(event: 'reconnecting', listener: (event: ReconnectingEvent) => void): this;
    removeListener(event: 'heartbeat', listener: (event: HeartbeatEvent) => void): this;
    removeListener(event: 'ack', listener: (event: AckEvent) => void): this;
    removeListener(event: 'drain', listener: (event: DrainEvent) => void): this;
    removeListener(event: 'failed', listener: (event: FailedEvent) => void): this;
    removeListener(event: 'error', listener: (error: ResilientSocketError) => void): this;
    removeListener(event: 'close', listener: (event: CloseEvent) => void): this;
    removeListener(event: 'newListener' | 'removeListener', listener: ListenerChangeListener): this;
    /** Any of the events above, for an event name held in a variable (`E` may be a union). */
    removeListener<E extends ResilientSocketEventName>(event: E, listener: (...args: ResilientSocketEvents[E]) => void): this;

    /** Emitting is the socket's job; these overloads exist so subclasses and tests stay typed. */
    emit(event: 'state', payload: StateEvent): boolean;
    emit(event: 'connecting', payload: ConnectingEvent): boolean;
    emit(event: 'open', payload: OpenEvent): boolean;
    emit(event: 'message', data: string | Buffer, info: MessageInfo): boolean;
    emit(event: 'disconnect', payload: DisconnectEvent): boolean;
    emit(event: 'reconnecting', payload: ReconnectingEvent): boolean;
    emit(event: 'heartbeat', payload: HeartbeatEvent): boolean;
    emit(event: 'ack', payload: AckEvent): boolean;
    emit(event: 'drain', payload: DrainEvent): boolean;
    emit(event: 'failed', payload: FailedEvent): boolean;
    emit(event: 'error', error: ResilientSocketError): boolean;
    emit(event: 'close', payload: CloseEvent): boolean;
    emit(event: 'newListener' | 'removeListener', eventName: string | symbol, listener: (...args: any[]) => void): boolean;
    emit<E extends ResilientSocketEventName>(event: E, ...args: ResilientSocketEvents[E]): boolean;
  }

  // ---------------------------------------------------------------------------------------------
  // Errors
  // ---------------------------------------------------------------------------------------------

  /**
   * The one table of error codes (lib/errors.js, native/core/error_codes.hpp). Each value of
   * `ERROR_CODES` is a one-line description. "Terminal" codes end the socket in `failed`.
   */
  interface ErrorCodeTable {
    /** An option or argument is invalid; the message names it and the accepted values. Thrown synchronously as a `TypeError`/`RangeError` (not a `ResilientSocketError`). */
    readonly ERR_INVALID_OPTION: string;
    /** `send()` after `close()`, or a message still undelivered when the socket closed (in-memory outbox). */
    readonly ERR_CLOSED: string;
    /** DNS + TCP + TLS + upgrade did not finish within `connectTimeout`. Retried. */
    readonly ERR_CONNECT_TIMEOUT: string;
    /** The host name could not be resolved. Retried. */
    readonly ERR_DNS: string;
    /** Nothing listens on the port (TCP RST). Retried. */
    readonly ERR_CONNECTION_REFUSED: string;
    /** The connection broke: reset, or closed without a close frame (1006). Retried. */
    readonly ERR_CONNECTION_LOST: string;
    /** The server answered the upgrade with an HTTP status (`.status`, `.headers`). Terminal for 400 and 404; other statuses are retried. */
    readonly ERR_HANDSHAKE_REJECTED: string;
    /** The server answered 401 or 403: credentials refused (`.status`, `.headers`). Terminal. */
    readonly ERR_AUTH: string;
    /** The server certificate or host name failed verification (`.reason`: the OpenSSL reason). Terminal. */
    readonly ERR_TLS_VERIFY: string;
    /** No answer to a heartbeat within `heartbeat.timeout`: the connection was dead (closed with 4000). Retried. */
    readonly ERR_HEARTBEAT_TIMEOUT: string;
    /** The server broke the WebSocket protocol (bad frame, bad handshake answer, invalid UTF-8). Retried. */
    readonly ERR_PROTOCOL: string;
    /** An inbound message exceeded `maxMessageSize` (closed with 1009). Retried. */
    readonly ERR_MESSAGE_TOO_LARGE: string;
    /** `reconnect.maxRetries` attempts failed in a row (`.status` of the last answer, if any). Terminal. */
    readonly ERR_RETRIES_EXHAUSTED: string;
    /** The server closed with a code listed in `reconnect.stopOnCloseCodes` (`.closeCode`). Terminal. */
    readonly ERR_CLOSED_BY_SERVER: string;
    /** The HTTP proxy could not be reached or refused the CONNECT tunnel (`.status` when it answered). Retried. */
    readonly ERR_PROXY: string;
    /** The HTTP proxy refused its credentials: 407 (or 401, as some proxies answer wrong ones) (`.status`). Terminal. */
    readonly ERR_PROXY_AUTH: string;
    /** The outbox reached `maxMessages` or `maxBytes` (`outbox.onFull` decides which `send()` rejects). */
    readonly ERR_OUTBOX_FULL: string;
    /** Writing the outbox file failed (ENOSPC, EIO); the message was not stored. Terminal when the outbox cannot be opened. */
    readonly ERR_OUTBOX_IO: string;
    /** Another socket or process holds this `outbox.path`. Terminal. */
    readonly ERR_OUTBOX_LOCKED: string;
    /** The outbox file had corrupt records; they were quarantined (`*.corrupt`) and the rest recovered. Emitted as `error`. */
    readonly ERR_OUTBOX_CORRUPT: string;
  }

  /** A stable error code; see {@link ErrorCodeTable} for what each means. */
  type ErrorCode = keyof ErrorCodeTable;

  /** The code → description table, frozen. */
  const ERROR_CODES: Readonly<ErrorCodeTable>;

  // ---------------------------------------------------------------------------------------------
  // node:diagnostics_channel
  // ---------------------------------------------------------------------------------------------

  /**
   * Names of the `node:diagnostics_channel` channels every socket publishes on, e.g.
   * `diagnostics_channel.subscribe(DIAGNOSTICS_CHANNELS.disconnect, (m) => …)`. A channel with no
   * subscriber costs nothing. `NODE_DEBUG=resilient-ws` logs every message, one line each.
   */
  const DIAGNOSTICS_CHANNELS: Readonly<{
    create: 'resilient-ws:socket:create';
    state: 'resilient-ws:state';
    connecting: 'resilient-ws:connecting';
    open: 'resilient-ws:open';
    disconnect: 'resilient-ws:disconnect';
    reconnecting: 'resilient-ws:reconnecting';
    heartbeat: 'resilient-ws:heartbeat';
    outbox: 'resilient-ws:outbox';
    ack: 'resilient-ws:ack';
    dedupe: 'resilient-ws:dedupe';
    resumeReset: 'resilient-ws:resume:reset';
    failed: 'resilient-ws:failed';
    close: 'resilient-ws:close';
  }>;

  /**
   * What each channel publishes: the `socket` it is about plus the fields of the event of the
   * same name (published just before that event is emitted).
   */
  interface DiagnosticsChannelMessages {
    'resilient-ws:socket:create': { socket: ResilientSocket; url: string };
    'resilient-ws:state': { socket: ResilientSocket } & StateEvent;
    'resilient-ws:connecting': { socket: ResilientSocket } & ConnectingEvent;
    'resilient-ws:open': { socket: ResilientSocket } & OpenEvent;
    'resilient-ws:disconnect': { socket: ResilientSocket } & DisconnectEvent;
    'resilient-ws:reconnecting': { socket: ResilientSocket } & ReconnectingEvent;
    'resilient-ws:heartbeat': { socket: ResilientSocket } & HeartbeatEvent;
    /** Outbox depth, once per batch of sends and once per batch of receipts/acks. */
    'resilient-ws:outbox': { socket: ResilientSocket; size: number; bytes: number };
    'resilient-ws:ack': { socket: ResilientSocket } & AckEvent;
    /** Replayed messages dropped as already delivered since the previous message; `total` is `stats().duplicatesDropped`. */
    'resilient-ws:dedupe': { socket: ResilientSocket; dropped: number; total: number };
    /** The server cannot replay from `lastEventId` (a message matching `resume.resetMatch` arrived). */
    'resilient-ws:resume:reset': { socket: ResilientSocket; lastEventId?: string };
    'resilient-ws:failed': { socket: ResilientSocket } & FailedEvent;
    'resilient-ws:close': { socket: ResilientSocket } & CloseEvent;
  }

  /** Facts attached to a {@link ResilientSocketError}, where known. */
  interface ResilientSocketErrorDetails {
    /** HTTP status of a refused upgrade (`ERR_HANDSHAKE_REJECTED`, `ERR_AUTH`, and the last one behind `ERR_RETRIES_EXHAUSTED`). */
    status?: number;
    /** Response headers of that refused upgrade, names lower-cased. */
    headers?: Record<string, string>;
    /** OpenSSL's reason for `ERR_TLS_VERIFY` (e.g. `certificate has expired`). */
    reason?: string;
    /** The server's `Retry-After`, in milliseconds (capped at 10 minutes). */
    retryAfter?: number;
    /** The close code behind the error (`ERR_CLOSED_BY_SERVER`). */
    closeCode?: number;
  }

  /**
   * Every error the socket reports (`send()` rejections, `failed.error`, `disconnect.error`,
   * `reconnecting.error`, `error` events). `message` says what happened and what to do, and never
   * contains credentials from URLs or headers. Option errors are plain `TypeError`/`RangeError`
   * with `code: 'ERR_INVALID_OPTION'` instead (see {@link InvalidOptionError}).
   */
  class ResilientSocketError extends Error implements ResilientSocketErrorDetails {
    /**
     * @param code One of {@link ErrorCode}.
     * @param message What happened and what to do.
     * @param details Copied onto the error when defined.
     */
    constructor(code: ErrorCode, message: string, details?: ResilientSocketErrorDetails);
    /** Always `'ResilientSocketError'`. */
    name: 'ResilientSocketError';
    /** The stable code: switch on this, not on `message`. */
    code: ErrorCode;
    status?: number;
    headers?: Record<string, string>;
    reason?: string;
    retryAfter?: number;
    closeCode?: number;
  }

  /** What the constructor, `send()` and `close()` throw synchronously for invalid arguments. */
  type InvalidOptionError = (TypeError | RangeError) & { code: 'ERR_INVALID_OPTION' };
}
