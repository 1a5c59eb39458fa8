// Compile-only: exercises the public types as a CommonJS TypeScript consumer would, and proves
// with `@ts-expect-error` that wrong usage is rejected (an unused @ts-expect-error fails the
// build, so each of those lines must really be an error). Nothing here runs.
import { EventEmitter, once } from 'node:events';
import { ResilientSocket, ResilientSocketError, ERROR_CODES, DIAGNOSTICS_CHANNELS } from 'resilient-ws';
import type {
  AckEvent,
  CloseEvent,
  DisconnectEvent,
  ErrorCode,
  FailedEvent,
  MessageInfo,
  OpenEvent,
  ReconnectingEvent,
  ResilientSocketEventName,
  ResilientSocketEvents,
  ResilientSocketOptions,
  SendReceipt,
  SocketState,
  SocketStats,
  StateEvent,
} from 'resilient-ws';
import rwsDefault from 'resilient-ws'; // esModuleInterop: the CommonJS exports object
import rwsRequire = require('resilient-ws');
// The runtime error table, read from the JavaScript source, to catch drift against ErrorCode.
import errorsJs = require('../../lib/errors');

/** Compiles only when `value` has exactly type T. */
declare function expectType<T>(value: T): void;
type Equal<A, B> = (<G>() => G extends A ? 1 : 2) extends <G>() => G extends B ? 1 : 2 ? true : false;
const assertEqual = <A, B>(ok: Equal<A, B>): Equal<A, B> => ok;

// ---- every export reachable every way -----------------------------------------------------------
expectType<typeof ResilientSocket>(rwsDefault.ResilientSocket);
expectType<typeof ResilientSocket>(rwsRequire.ResilientSocket);
expectType<typeof ResilientSocketError>(rwsRequire.ResilientSocketError);
expectType<typeof ERROR_CODES>(rwsDefault.ERROR_CODES);
expectType<typeof DIAGNOSTICS_CHANNELS>(rwsRequire.DIAGNOSTICS_CHANNELS);

// ---- the error table matches lib/errors.js exactly ----------------------------------------------
assertEqual<keyof typeof errorsJs.ERROR_CODES, ErrorCode>(true);
assertEqual<keyof typeof ERROR_CODES, ErrorCode>(true);

// ---- options ------------------------------------------------------------------------------------
const everything: ResilientSocketOptions = {
  protocols: ['v2.chat', 'v1.chat'],
  headers: { Authorization: 'Bearer t0ken', 'X-Retry': 3 },
  connectTimeout: 10_000,
  reconnect: {
    initialDelay: 1000,
    maxDelay: 30_000,
    multiplier: 1.5,
    jitter: 'full',
    immediate: true,
    stableAfter: 5000,
    maxRetries: Infinity,
    stopOnCloseCodes: [1008, 4401, 4403],
  },
  heartbeat: { interval: 15_000, timeout: 5000, mode: 'message', message: 'ping', pong: 'pong' },
  resume: { idField: 'meta.id', via: 'message', param: '{"type":"sync","after":{{id}}}', window: 10_000 },
  outbox: {
    path: '/var/lib/app/outbox',
    fsync: 'batch',
    maxMessages: 10_000,
    maxBytes: 16 * 1024 * 1024,
    onFull: 'drop-oldest',
    guarantee: 'acked',
    ack: { keyField: 'key', match: { type: 'ack', ok: true, error: null } },
    keyField: 'idempotencyKey',
  },
  maxMessageSize: 16 * 1024 * 1024,
  perMessageDeflate: false,
  tls: { ca: [Buffer.from('-----BEGIN CERTIFICATE-----'), 'pem'], rejectUnauthorized: true, servername: 'example.com' },
  autoConnect: false,
};
const extensions: ResilientSocketOptions[] = [
  { reconnect: false, heartbeat: false, resume: true },
  { reconnect: true, heartbeat: true, resume: false },
  { reconnect: { jitter: 'none' } },
  { reconnect: { jitter: false } },
  { reconnect: { jitter: 0.2 } },
  { reconnect: { jitter: 'equal', stopOnCloseCodes: [] } },
  { protocols: 'single' },
  { tls: { cert: 'pem', key: Buffer.from('pem'), passphrase: 'secret' } },
  {},
];

// @ts-expect-error jitter is 'full' | 'equal' | 'none' | false | a fraction
const badJitter: ResilientSocketOptions = { reconnect: { jitter: 'sometimes' } };
// @ts-expect-error `true` is not a jitter kind (only `false` is accepted, meaning 'none')
const badJitterTrue: ResilientSocketOptions = { reconnect: { jitter: true } };
// @ts-expect-error heartbeat.mode is 'ping' | 'message'
const badMode: ResilientSocketOptions = { heartbeat: { mode: 'pong' } };
// @ts-expect-error outbox.fsync is 'batch' | 'always' | 'none'
const badFsync: ResilientSocketOptions = { outbox: { fsync: 'sometimes' } };
// @ts-expect-error outbox.onFull is 'reject' | 'drop-oldest'
const badOnFull: ResilientSocketOptions = { outbox: { onFull: 'drop-newest' } };
// @ts-expect-error resume.via is 'query' | 'header' | 'message'
const badVia: ResilientSocketOptions = { resume: { via: 'cookie' } };
// @ts-expect-error unknown options are rejected (a typo never silently means "default")
const typo: ResilientSocketOptions = { reconect: false };
// @ts-expect-error durations are numbers (milliseconds)
const badTimeout: ResilientSocketOptions = { connectTimeout: '10s' };
// @ts-expect-error outbox must be an object, not `true`
const badOutbox: ResilientSocketOptions = { outbox: true };
// @ts-expect-error ack.match values are scalars
const badMatch: ResilientSocketOptions = { outbox: { ack: { match: { type: ['ack'] } } } };

// ---- construction ----------------------------------------------------------------------------
const sock = new ResilientSocket('wss://example.com/events', everything);
const failover = new ResilientSocket(['ws://a.example/ws', new URL('ws://b.example/ws')]);
const plain = new ResilientSocket('ws://localhost:8080');
// @ts-expect-error the URL is a string, a URL or a list of them
new ResilientSocket(8080);
// @ts-expect-error options are an object
new ResilientSocket('ws://localhost', 'v1.chat');

// A ResilientSocket is an EventEmitter and works with the node:events helpers.
const asEmitter: EventEmitter = sock;

// ---- typed listeners --------------------------------------------------------------------------
sock.on('state', (e) => {
  expectType<StateEvent>(e);
  expectType<SocketState>(e.state);
  expectType<SocketState>(e.previous);
  expectType<string | undefined>(e.reason);
});
sock.on('connecting', ({ attempt, url }) => {
  expectType<number>(attempt);
  expectType<string>(url);
});
sock.once('open', (e) => {
  expectType<OpenEvent>(e);
  expectType<boolean>(e.reconnected);
  expectType<string>(e.protocol);
  expectType<string | undefined>(e.resumedFrom);
});
sock.on('message', (data, info) => {
  expectType<string | Buffer>(data);
  expectType<MessageInfo>(info);
  expectType<string | undefined>(info.id);
  expectType<boolean>(info.replayed);
  if (typeof data === 'string') data.toUpperCase();
  else data.readUInt8(0);
});
sock.on('disconnect', (e) => {
  expectType<DisconnectEvent>(e);
  expectType<number>(e.code);
  expectType<boolean>(e.wasClean);
  expectType<boolean>(e.willReconnect);
  if (e.error) expectType<ErrorCode>(e.error.code);
});
sock.on('reconnecting', (e) => {
  expectType<ReconnectingEvent>(e);
  expectType<number>(e.delay);
  expectType<number | undefined>(e.retryAfter);
  expectType<number | undefined>(e.status);
});
sock.on('heartbeat', ({ rtt }) => expectType<number>(rtt));
sock.on('ack', (e) => expectType<AckEvent>(e));
sock.on('drain', () => undefined);
sock.on('failed', ({ error }) => {
  expectType<ResilientSocketError>(error);
  if (error.code === 'ERR_AUTH' || error.code === 'ERR_HANDSHAKE_REJECTED') {
    expectType<number | undefined>(error.status);
    expectType<Record<string, string> | undefined>(error.headers);
  }
  if (error.code === 'ERR_TLS_VERIFY') expectType<string | undefined>(error.reason);
  if (error.code === 'ERR_CLOSED_BY_SERVER') expectType<number | undefined>(error.closeCode);
});
sock.on('error', (err) => {
  expectType<ResilientSocketError>(err);
  expectType<'ResilientSocketError'>(err.name);
});
sock.on('close', (e) => expectType<CloseEvent>(e));
// Async listeners are fine (their promise is ignored).
sock.on('open', async () => {
  await sock.send('hello');
});
// Chaining returns the socket.
expectType<ResilientSocket>(sock.on('drain', () => undefined).off('drain', () => undefined));
const onFailed = (e: FailedEvent): void => void e;
sock.addListener('failed', onFailed).prependListener('failed', onFailed).prependOnceListener('failed', onFailed);
sock.removeListener('failed', onFailed).off('failed', onFailed);
sock.on('newListener', (name) => expectType<string | symbol>(name));
expectType<boolean>(sock.emit('heartbeat', { rtt: 1.5 }));
expectType<boolean>(sock.emit('message', 'text', { replayed: false }));

// An event name held in a variable: the listener gets the union of the payloads.
const terminal = Math.random() > 0.5 ? ('failed' as const) : ('close' as const);
sock.on(terminal, (e) => expectType<FailedEvent | CloseEvent>(e));
const lifecycleEvents: ResilientSocketEventName[] = ['open', 'disconnect'];
for (const name of lifecycleEvents) sock.on(name, (...args) => void args);

// @ts-expect-error message data is string | Buffer, not a number
sock.on('message', (data: number) => data);
// @ts-expect-error the open payload is not a close payload
sock.on('open', (e: CloseEvent) => e);
// @ts-expect-error heartbeat has `rtt`, not `latency`
sock.on('heartbeat', (e) => e.latency);
// @ts-expect-error message info is the second argument, not a field of the first
sock.on('message', (data) => data.replayed);
// @ts-expect-error unknown event name (typo of 'open')
sock.on('opne', () => undefined);
// @ts-expect-error 'error' listeners receive a ResilientSocketError, not a close event
sock.once('error', (e: CloseEvent) => e);
// @ts-expect-error the close payload needs code and reason
sock.emit('close', {});

// ---- send and receipts ------------------------------------------------------------------------
async function sending(): Promise<void> {
  const receipt = await sock.send(JSON.stringify({ type: 'order', id: 1 }), { key: 'order-1' });
  expectType<SendReceipt>(receipt);
  expectType<string>(receipt.key);
  expectType<number>(receipt.seq);
  expectType<'written' | 'persisted' | 'acked'>(receipt.status);
  await sock.send(Buffer.from([1, 2, 3]));
  await sock.send(new Uint8Array(4));
  await sock.send(new Float64Array(2));
  await sock.send(new ArrayBuffer(8));
  await sock.send(new DataView(new ArrayBuffer(8)));
  const many: Promise<SendReceipt>[] = [];
  for (let i = 0; i < 1000; i++) many.push(sock.send(`tick ${i}`)); // one native call for all
  await Promise.all(many);

  try {
    await sock.send('x');
  } catch (err) {
    if (err instanceof ResilientSocketError) {
      switch (err.code) {
        case 'ERR_OUTBOX_FULL':
          await once(sock, 'drain');
          break;
        case 'ERR_CLOSED':
        case 'ERR_OUTBOX_IO':
          break;
        default:
          expectType<ErrorCode>(err.code);
      }
    }
  }

  // @ts-expect-error data is a string or binary, not a number
  sock.send(123);
  // @ts-expect-error not a plain object either
  sock.send({ type: 'order' });
  // @ts-expect-error the key is a string
  sock.send('x', { key: 42 });
  // @ts-expect-error the receipt status is a closed set
  const wrongStatus: SendReceipt['status'] = 'sent';
}

// ---- close, lifecycle, properties ----------------------------------------------------------------
async function lifecycle(): Promise<void> {
  const s = new ResilientSocket('ws://localhost:1234', { autoConnect: false });
  s.connect();
  s.reconnect();
  expectType<ResilientSocket>(s.unref().ref());
  expectType<SocketState>(s.state);
  expectType<string>(s.url);
  expectType<string | undefined>(s.lastEventId);
  expectType<number>(s.bufferedAmount);
  expectType<number>(s.outboxSize);
  const [opened] = await once(s, 'open');
  void opened;
  const first: Promise<void> = s.close(1000, 'bye');
  const again: Promise<void> = s.close(); // idempotent: the same promise
  await Promise.all([first, again]);

  // @ts-expect-error state is read-only
  s.state = 'open';
  // @ts-expect-error outboxSize is read-only
  s.outboxSize = 0;
  // @ts-expect-error the close code is a number
  s.close('bye');
  // @ts-expect-error not a state
  const notAState: SocketState = 'opened';
}

// ---- stats ---------------------------------------------------------------------------------------
const stats: SocketStats = plain.stats();
expectType<number | null>(stats.lastRtt);
expectType<number>(stats.duplicatesDropped);
expectType<number>(stats.outboxBytes);
expectType<number>(stats.tornBytesTruncated);
expectType<SocketState>(stats.state);
if (stats.lastRtt !== null) stats.lastRtt.toFixed(1);
// @ts-expect-error lastRtt is null before the first heartbeat answer
stats.lastRtt.toFixed(1);
// @ts-expect-error no such counter
stats.messagesReceived;

// ---- async iteration -----------------------------------------------------------------------------
async function iterate(): Promise<void> {
  for await (const data of failover) {
    expectType<string | Buffer>(data);
    if (data === 'stop') break;
  }
}

// ---- errors --------------------------------------------------------------------------------------
const codes: ErrorCode[] = Object.keys(ERROR_CODES) as ErrorCode[];
expectType<string>(ERROR_CODES.ERR_CONNECTION_LOST);
expectType<string>(ERROR_CODES.ERR_CLOSED_BY_SERVER);
const made = new ResilientSocketError('ERR_AUTH', 'refused', { status: 401, headers: { 'www-authenticate': 'Bearer' } });
expectType<Error>(made);
// @ts-expect-error not a code in the table
const badCode: ErrorCode = 'ERR_NOPE';
// @ts-expect-error ERROR_CODES has only the table's codes
ERROR_CODES.ERR_NOPE;
// @ts-expect-error the table is read-only
ERROR_CODES.ERR_DNS = 'x';
// @ts-expect-error ResilientSocketError takes a code from the table
new ResilientSocketError('ERR_NOPE', 'x');

// ---- the event map, for generic helpers ---------------------------------------------------------
function onTyped<E extends ResilientSocketEventName>(
  socket: ResilientSocket,
  event: E,
  listener: (...args: ResilientSocketEvents[E]) => void,
): void {
  (socket as EventEmitter).on(event, listener as (...args: unknown[]) => void);
}
onTyped(sock, 'message', (data, info) => {
  expectType<string | Buffer>(data);
  expectType<boolean>(info.replayed);
});
// @ts-expect-error payload type follows the event name
onTyped(sock, 'ack', (e: OpenEvent) => e);

void [extensions, badJitter, badJitterTrue, badMode, badFsync, badOnFull, badVia, typo, badTimeout, badOutbox, badMatch];
void [asEmitter, sending, lifecycle, iterate, codes, badCode];

// ---- diagnostics channels -------------------------------------------------------------------------
import diagnosticsChannel = require('node:diagnostics_channel');
diagnosticsChannel.subscribe(DIAGNOSTICS_CHANNELS.disconnect, (message) => {
  const m = message as import('resilient-ws').DiagnosticsChannelMessages['resilient-ws:disconnect'];
  expectType<number>(m.code);
  expectType<number>(m.socket.id);
});
expectType<'resilient-ws:open'>(DIAGNOSTICS_CHANNELS.open);
// @ts-expect-error no such channel
DIAGNOSTICS_CHANNELS.nope;
