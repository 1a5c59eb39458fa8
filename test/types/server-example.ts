// Compile-only: exercises server.d.ts (`resilient-ws/server`) as a TypeScript consumer would.
// Nothing here runs.
import http = require('node:http');
import { ResilientServer, MemoryStore, RedisStore, SHUTDOWN_CODES } from 'resilient-ws/server';
import type { EventStore, ServerStats, ResetMessage, MessageContext } from 'resilient-ws/server';

declare function expectType<T>(value: T): void;

async function serverUsage(): Promise<void> {
  const store: EventStore = new MemoryStore({ maxEvents: 1000, maxBytes: 1 << 20, maxAge: 60000, firstId: 1 });
  const server = new ResilientServer({
    port: 0,
    store,
    resume: { query: 'after', header: 'Last-Event-ID', sync: { match: { type: 'sync' }, field: 'lastEventId' }, syncTimeout: 250 },
    ack: { keyField: 'key', match: { type: 'ack' } },
    ping: { interval: 15000, timeout: 5000 },
    onMessage: async (message: unknown, ctx: MessageContext) => {
      expectType<string | undefined>(ctx.key);
      expectType<boolean>(ctx.open());
    },
  });
  await server.listening;
  expectType<number | undefined>(server.port);
  expectType<number>(await server.publish({ price: 1 }, { stream: 'prices' }));
  const stats: ServerStats = server.stats();
  expectType<number>(stats.disconnectsByCode['1012']);
  server.on('reset', (r) => { expectType<ResetMessage['reason']>(r.reason); });
  server.on('store-error', (err, { step }) => { expectType<Error>(err); expectType<string>(step); });
  server.on('resume', ({ via, after }) => { expectType<number | null>(after); expectType<string>(via); });
  await server.shutdown({ reason: 'restart' });
  // @ts-expect-error only 'restart' and 'deploy'
  await server.shutdown({ reason: 'reboot' });
  expectType<1012>(SHUTDOWN_CODES.restart);

  const onHttp = new ResilientServer({ server: http.createServer(), path: '/feed', store: new RedisStore({ redis: 'redis://127.0.0.1:6379', prefix: 'app:' }) });
  await onHttp.close();
  // @ts-expect-error ping.interval is a number of milliseconds
  new ResilientServer({ port: 0, ping: { interval: '15s' } });
}
void serverUsage;
