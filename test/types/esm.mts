// Compile-only: the ES module consumer (`import` resolves through the "exports" of package.json
// to the same binding.d.ts; at run time lib/index.mjs re-exports the CommonJS objects).
import { ResilientSocket, ResilientSocketError, ERROR_CODES } from 'resilient-ws';
import type { SendReceipt, ErrorCode } from 'resilient-ws';
import rws from 'resilient-ws';

const sock = new ResilientSocket('wss://example.com', { reconnect: { jitter: 'equal' } });
sock.on('message', (data: string | Buffer, info) => {
  const replayed: boolean = info.replayed;
  void [data, replayed];
});
const receipt: SendReceipt = await sock.send('hello');
const sameClass: typeof ResilientSocket = rws.ResilientSocket;
const code: ErrorCode = 'ERR_OUTBOX_FULL';
const isError: boolean = new ResilientSocketError(code, 'full') instanceof Error;
const description: string = ERROR_CODES[code];
await sock.close();

// @ts-expect-error wrong payload for 'close'
sock.on('close', (data: string) => data);

void [receipt, sameClass, isError, description];
