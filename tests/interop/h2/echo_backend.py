#!/usr/bin/env python3
"""HTTP/1.1 WebSocket echo backend behind haproxy, for tests/interop/h2/run.sh.

Usage: echo_backend.py [HOST [PORT]]     (default 127.0.0.1, port 0 = any)

Prints `h2 backend (websockets VERSION) listening on ws://HOST:PORT/` once it
accepts. Unlike ../python_server.py it negotiates what a client offers, so
that what survives haproxy's HTTP/2 -> HTTP/1.1 translation can be seen:

- permessage-deflate: websockets' default (accepted when offered);
- subprotocols: the first one the client offers is selected (none offered:
  none selected);
- every handshake is logged on stdout as two JSON lines, `request: {...}`
  (method, path, the headers in arrival order) and `response: {...}`
  (status, headers), so run.sh can show what haproxy sent.

Paths:

- /headers: first send one text message, the JSON of the request as the
  backend saw it ({"method", "path", "headers": [[name, value], ...]}), then
  echo like any other path;
- any other path: echo each message back whole (same type, same bytes); a
  close frame gets the same code and reason back (websockets echoes it).
"""

import asyncio
import json
import sys

import websockets
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

MIB = 1 << 20


def request_json(request):
    return {
        "method": getattr(request, "method", "GET"),
        "path": request.path,
        "headers": [[name, value] for name, value in request.headers.raw_items()],
    }


def log(kind, obj):
    print(f"{kind}: {json.dumps(obj)}", flush=True)


def process_request(connection, request):
    log("request", request_json(request))
    return None  # go on with the handshake


def process_response(connection, request, response):
    log("response", {
        "status": int(response.status_code),
        "headers": [[name, value] for name, value in response.headers.raw_items()],
    })
    return None


def select_subprotocol(connection, subprotocols):
    return subprotocols[0] if subprotocols else None


async def handler(ws):
    if ws.request.path == "/headers":
        await ws.send(json.dumps(request_json(ws.request)))
    try:
        async for message in ws:
            await ws.send(message)
    except ConnectionClosed:
        pass


async def main(host, port):
    async with serve(
        handler,
        host,
        port,
        process_request=process_request,
        process_response=process_response,
        select_subprotocol=select_subprotocol,
        max_size=4 * MIB,
        ping_interval=None,  # no keepalive pings mixed into the checks
        close_timeout=5,
    ) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"h2 backend (websockets {websockets.__version__}) "
              f"listening on ws://{host}:{port}/", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    host = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1"
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    try:
        asyncio.run(main(host, port))
    except KeyboardInterrupt:
        pass
