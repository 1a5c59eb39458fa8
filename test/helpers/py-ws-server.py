"""A second, independent WebSocket peer for tests: Python `websockets` 10.4 (Debian's
python3-websockets). Started by test/helpers/python-peer.js; run it with /usr/bin/python3.

Prints the chosen port as the first stdout line, then serves until SIGTERM/SIGINT or
until its stdin reaches EOF (so it never outlives the Node process that started it).

Modes:
  echo    echo text and binary; the text message `__whoami__` is answered with
          {"type":"whoami","path":...,"headers":{...}} instead of being echoed.
  replay  numbers events 1..N at --rate per second (JSON {"id": n, "data": "..."}),
          keeps the last --keep, replays from the `after` query parameter (or the
          Last-Event-ID header) on connect, then continues live. If `after` fell out of
          the buffer, {"type":"reset","oldest":<id>} is sent first.
"""

import argparse
import asyncio
import collections
import json
import signal
import sys
import os
import urllib.parse

import websockets

CLIENT_QUEUE_MAX = 10000


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--mode", choices=["echo", "replay"], default="echo")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--rate", type=float, default=20.0, help="replay: events per second (0: none)")
    p.add_argument("--keep", type=int, default=1000, help="replay: events kept for resume")
    p.add_argument("--count", type=int, default=0, help="replay: stop after N events (0: never)")
    p.add_argument("--protocols", default="", help="comma-separated subprotocols to accept")
    return p.parse_args()


def dumps(value):
    return json.dumps(value, separators=(",", ":"))


def request_info(ws):
    return {
        "type": "whoami",
        "path": ws.path,
        "headers": {k.lower(): v for k, v in ws.request_headers.raw_items()},
    }


async def echo_handler(ws):
    try:
        async for message in ws:
            if message == "__whoami__":
                await ws.send(dumps(request_info(ws)))
            else:
                await ws.send(message)
    except websockets.ConnectionClosed:
        pass  # the client going away abruptly is routine in these tests


class Replay:
    """Event log with a bounded buffer and live fan-out to connected clients."""

    def __init__(self, keep, rate, count):
        self.events = collections.deque(maxlen=max(1, keep))
        self.next_id = 1
        self.rate = rate
        self.count = count
        self.clients = set()

    def publish(self):
        n = self.next_id
        self.next_id += 1
        event = dumps({"id": n, "data": "event-%d" % n})
        self.events.append((n, event))
        for queue in list(self.clients):
            if queue.full():
                # A client this far behind is dropped rather than buffered without bound.
                self.clients.discard(queue)
                queue.overflowed = True
                continue
            queue.put_nowait(event)

    async def ticker(self):
        if self.rate <= 0:
            return
        interval = 1.0 / self.rate
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while self.count == 0 or self.next_id <= self.count:
            self.publish()
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - loop.time()))

    async def handler(self, ws):
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(ws.path).query)
        after = None
        raw = (query.get("after") or [None])[0]
        if raw is None:
            raw = ws.request_headers.get("Last-Event-ID")
        if raw is not None:
            try:
                after = int(raw)
            except ValueError:
                after = None
        # Snapshot and subscribe with no await in between: nothing can be missed or doubled.
        backlog = []
        if after is not None:
            oldest = self.events[0][0] if self.events else self.next_id
            if after + 1 < oldest:
                backlog.append(dumps({"type": "reset", "oldest": oldest}))
            backlog.extend(e for (n, e) in self.events if n > after)
        queue = asyncio.Queue(maxsize=CLIENT_QUEUE_MAX)
        queue.overflowed = False
        self.clients.add(queue)
        try:
            await self.serve_client(ws, queue, backlog)
        except websockets.ConnectionClosed:
            pass  # routine: the client left
        finally:
            self.clients.discard(queue)

    async def serve_client(self, ws, queue, backlog):
        for event in backlog:
            await ws.send(event)
        reader = asyncio.ensure_future(self.drain_inbound(ws))
        try:
            while True:
                get = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait({get, reader}, return_when=asyncio.FIRST_COMPLETED)
                if get not in done:
                    get.cancel()
                    return
                if queue.overflowed and queue.empty():
                    await ws.close(1013, "client too slow")
                    return
                await ws.send(get.result())
        finally:
            reader.cancel()

    @staticmethod
    async def drain_inbound(ws):
        # Inbound messages are ignored; this just notices the connection closing.
        try:
            async for _ in ws:
                pass
        except websockets.ConnectionClosed:
            pass


def watch_stdin(loop, stop):
    """Stops the server when the parent closes our stdin (or dies)."""
    fd = sys.stdin.fileno()

    def on_readable():
        try:
            data = os.read(fd, 4096)
        except OSError:
            data = b""
        if not data:
            loop.remove_reader(fd)
            if not stop.done():
                stop.set_result(None)

    loop.add_reader(fd, on_readable)


async def main():
    args = parse_args()
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    watch_stdin(loop, stop)

    protocols = [p for p in args.protocols.split(",") if p] or None
    ticker = None
    if args.mode == "echo":
        handler = echo_handler
    else:
        replay = Replay(args.keep, args.rate, args.count)
        handler = replay.handler
    async with websockets.serve(handler, args.host, args.port, subprotocols=protocols,
                                max_size=16 * 1024 * 1024) as server:
        port = server.sockets[0].getsockname()[1]
        print(port, flush=True)
        if args.mode == "replay":
            ticker = asyncio.ensure_future(replay.ticker())
        await stop
        if ticker:
            ticker.cancel()


if __name__ == "__main__":
    asyncio.run(main())
