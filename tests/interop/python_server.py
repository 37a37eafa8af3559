#!/usr/bin/env python3
"""Echo server on Python's `websockets`, for examples/interop_client.rs.

Usage: python_server.py [HOST [PORT]]     (default 127.0.0.1, port 0 = any)

Prints `python server listening on ws://HOST:PORT/` once it accepts. The
protocol (tests/interop/README.md):

- any path but the two below: echo each message back whole (same type,
  same bytes); a client's close frame gets the same code and reason back
  (websockets echoes it) and is remembered;
- /fragmented: echo each message as several frames;
- /closes: send one text message "CODE REASON" per close frame received so
  far, then close with 4002 "closes reported".
"""

import asyncio
import sys

import websockets
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

MIB = 1 << 20
REPORT_CLOSE = (4002, "closes reported")

closes = []  # "CODE REASON" for every close frame a client sent


def split(message, pieces=3):
    """The message as `pieces` fragments; text is cut at arbitrary bytes,
    code points included (the whole message stays UTF-8, RFC 6455 5.6)."""
    data = message.encode() if isinstance(message, str) else message
    step = max(1, -(-len(data) // pieces))
    return [data[i:i + step] for i in range(0, len(data), step)] or [b""]


async def handler(ws):
    path = ws.request.path
    if path == "/closes":
        for entry in list(closes):
            await ws.send(entry)
        await ws.close(*REPORT_CLOSE)
        return
    fragmented = path == "/fragmented"
    try:
        while True:
            message = await ws.recv()
            if fragmented:
                await ws.send(split(message), text=isinstance(message, str))
            else:
                await ws.send(message)
    except ConnectionClosed as exc:
        rcvd = exc.rcvd
        closes.append(f"{rcvd.code} {rcvd.reason}" if rcvd else "none")


async def main(host, port):
    async with serve(
        handler,
        host,
        port,
        compression=None,
        max_size=4 * MIB,
        ping_interval=None,  # no keepalive pings mixed into the checks
        close_timeout=5,
    ) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"python server (websockets {websockets.__version__}) "
              f"listening on ws://{host}:{port}/", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    host = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1"
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    try:
        asyncio.run(main(host, port))
    except KeyboardInterrupt:
        pass
