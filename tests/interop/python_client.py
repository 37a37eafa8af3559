#!/usr/bin/env python3
"""Interop checks: Python's `websockets` client against our echo server.

Usage: python_client.py ws://127.0.0.1:PORT/

Each check opens its own connection, prints `PASS name` or `FAIL name: why`,
and the run ends with a plain `N passed, M failed` line. Exit status is 0
only if every check passed.

If SERVER_LOG names the echo server's stdout log, the closing checks also
look for the server's own `closed with CODE "REASON" (clean: true)` line.
"""

import asyncio
import json
import os
import sys
import time
import traceback
import urllib.parse

import websockets
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, ConnectionClosedOK
from websockets.protocol import State

MIB = 1 << 20
CHECK_TIMEOUT = 60.0  # seconds per check, all included
CLOSE_TIMEOUT = 5.0  # websockets' own closing-handshake timeout

CHECKS = []


def check(fn):
    CHECKS.append(fn)
    return fn


class CheckFailed(AssertionError):
    pass


def expect(cond, what):
    if not cond:
        raise CheckFailed(what)


def show(value, limit=80):
    """Short repr for failure messages; big payloads are summarised."""
    if isinstance(value, (str, bytes)) and len(value) > limit:
        return f"{type(value).__name__} of length {len(value)} starting {value[:24]!r}"
    return repr(value)


def expect_equal(got, want, what):
    if got != want:
        detail = ""
        if isinstance(got, (str, bytes)) and isinstance(want, (str, bytes)):
            if type(got) is not type(want):
                detail = f" (type {type(got).__name__}, wanted {type(want).__name__})"
            else:
                n = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b),
                         min(len(got), len(want)))
                detail = f" (len {len(got)} vs {len(want)}, first difference at {n})"
        raise CheckFailed(f"{what}: got {show(got)}, wanted {show(want)}{detail}")


def open_ws(url, **overrides):
    options = dict(
        compression=None,  # plain frames; compressed_round_trip turns it on
        max_size=4 * MIB,
        ping_interval=None,  # no keepalive pings mixed into the checks
        close_timeout=CLOSE_TIMEOUT,
        open_timeout=10,
        proxy=None,  # never route 127.0.0.1 through an environment proxy
    )
    options.update(overrides)
    return connect(url, **options)


async def echo(ws, message):
    await ws.send(message)
    return await asyncio.wait_for(ws.recv(), 10)


# --- data messages -----------------------------------------------------------


@check
async def text_round_trip(url):
    async with open_ws(url) as ws:
        for message in ["hello", "héllo wörld", "日本語のテキスト", "emoji 🦀🎉 and 𝄞",
                        "nul\x00inside", "tab\tnewline\n"]:
            got = await echo(ws, message)
            expect_equal(got, message, "text echo")
            expect(isinstance(got, str), "text came back as a non-text frame")


@check
async def compressed_round_trip(url):
    # websockets offers permessage-deflate by default; our server (built
    # with the deflate feature) accepts it.
    async with open_ws(url, compression="deflate") as ws:
        names = [type(e).__name__ for e in ws.protocol.extensions]
        expect(names, "permessage-deflate was not negotiated")
        for message in ["hello " * 2000, "κόσμε " * 3000, bytes(200_000),
                        bytes(range(256)) * 40, "short"]:
            got = await echo(ws, message)
            expect_equal(got, message, f"compressed echo ({names})")


@check
async def binary_round_trip(url):
    async with open_ws(url) as ws:
        for message in [b"\x00\x01\x02\xff", bytes(range(256)), b"\xc3\x28 not utf-8"]:
            got = await echo(ws, message)
            expect_equal(got, message, "binary echo")
            expect(isinstance(got, bytes), "binary came back as a text frame")


@check
async def empty_messages(url):
    async with open_ws(url) as ws:
        got = await echo(ws, "")
        expect_equal(got, "", "empty text echo")
        got = await echo(ws, b"")
        expect_equal(got, b"", "empty binary echo")


@check
async def large_binary_1mib(url):
    payload = os.urandom(MIB)
    async with open_ws(url) as ws:
        got = await asyncio.wait_for(echo(ws, payload), 30)
        expect_equal(got, payload, "1 MiB binary echo")


@check
async def large_text_1mib(url):
    unit = "héllo wörld € 𝄞 ascii "  # 1-, 2-, 3- and 4-byte UTF-8 sequences
    text = (unit * (MIB // len(unit.encode()) + 1)).encode()[:MIB].decode("utf-8", "ignore")
    expect(len(text.encode()) > MIB - 4, "test bug: text too short")
    async with open_ws(url) as ws:
        got = await asyncio.wait_for(echo(ws, text), 30)
        expect_equal(got, text, "1 MiB text echo")


# --- fragmentation -----------------------------------------------------------


@check
async def fragmented_text_from_client(url):
    parts = ["first fragment, ", "sécond fragment, ", "", "third 🦀 fragment"]
    async with open_ws(url) as ws:
        got = await echo(ws, parts)  # iterable -> one frame per item + empty FIN frame
        expect_equal(got, "".join(parts), "fragmented text echoed whole")


@check
async def fragmented_binary_from_client(url):
    parts = [os.urandom(1000), b"", os.urandom(70000), os.urandom(3)]

    async def agen():
        for part in parts:
            yield part
            await asyncio.sleep(0.01)  # fragments arrive in separate TCP writes

    async with open_ws(url) as ws:
        got = await echo(ws, agen())
        expect_equal(got, b"".join(parts), "fragmented binary echoed whole")


@check
async def fragmented_text_utf8_split_across_frames(url):
    # RFC 6455 §5.6: only the whole message must be valid UTF-8, so a code
    # point may straddle fragments. "€" = E2 82 AC, "𝄞" = F0 9D 84 9E.
    parts = [b"price: \xe2", b"\x82", b"\xac 5, clef \xf0\x9d", b"\x84\x9e!"]
    async with open_ws(url) as ws:
        await ws.send(parts, text=True)
        got = await asyncio.wait_for(ws.recv(), 10)
        expect_equal(got, b"".join(parts).decode(), "split-code-point text echoed whole")


# --- control frames ------------------------------------------------------------


@check
async def ping_with_payload_gets_pong(url):
    async with open_ws(url) as ws:
        payload = b"interop-ping \x00\xff"
        pong_waiter = await ws.ping(payload)
        # websockets resolves the waiter only for a pong carrying this payload.
        latency = await asyncio.wait_for(pong_waiter, 10)
        expect(latency >= 0, "negative latency")
        # The connection must still carry data after the ping.
        expect_equal(await echo(ws, "after ping"), "after ping", "echo after ping")


@check
async def ping_between_data_messages(url):
    async with open_ws(url) as ws:
        await ws.send("one")
        pong_waiter = await ws.ping("mid")
        await ws.send(b"two")
        expect_equal(await asyncio.wait_for(ws.recv(), 10), "one", "first echo")
        expect_equal(await asyncio.wait_for(ws.recv(), 10), b"two", "second echo")
        await asyncio.wait_for(pong_waiter, 10)


@check
async def many_messages_in_order(url):
    count = 1000
    async with open_ws(url) as ws:

        async def sender():
            for i in range(count):
                if i % 2:
                    await ws.send(f"message {i} ✓")
                else:
                    await ws.send(i.to_bytes(4, "big"))

        task = asyncio.create_task(sender())
        for i in range(count):
            got = await asyncio.wait_for(ws.recv(), 10)
            want = f"message {i} ✓" if i % 2 else i.to_bytes(4, "big")
            expect_equal(got, want, f"message #{i}")
        await task


# --- closing handshake -------------------------------------------------------


async def close_with(url, code, reason):
    """The client closes with `code` and `reason`: the server answers with
    the code, closes TCP promptly, and (with SERVER_LOG) logs both."""
    ws = await open_ws(url)
    local_port = ws.local_address[1]
    started = time.monotonic()
    await asyncio.wait_for(ws.close(code, reason), CLOSE_TIMEOUT + 5)
    await asyncio.wait_for(ws.wait_closed(), CLOSE_TIMEOUT + 5)
    elapsed = time.monotonic() - started

    protocol = ws.protocol
    expect(protocol.close_sent is not None, "client did not send a close frame")
    expect(protocol.close_rcvd is not None,
           "server sent no close frame back (connection dropped without one)")
    expect_equal(protocol.close_rcvd.code, code, "close code echoed by server")
    expect_equal(protocol.close_rcvd_then_sent, False, "order (client closed first)")
    expect(ws.state is State.CLOSED, f"state is {ws.state!r}, not CLOSED")

    try:
        await ws.recv()
    except ConnectionClosed as exc:
        # Close frames went both ways; websockets calls only 1000 and 1001 "OK".
        expect(exc.sent is not None and exc.rcvd is not None and exc.rcvd.code == code,
               f"closure not clean: {type(exc).__name__}: {exc}")
        expect(code not in (1000, 1001) or isinstance(exc, ConnectionClosedOK),
               f"closure not OK: {type(exc).__name__}: {exc}")
    else:
        raise CheckFailed("recv() after close returned a message")

    # A client waits for the server to close TCP; had the server not, close()
    # would only have finished after close_timeout by aborting the socket.
    expect(elapsed < CLOSE_TIMEOUT - 1,
           f"closing took {elapsed:.2f}s: server did not close TCP promptly")

    log = os.environ.get("SERVER_LOG")
    if not log:
        return f"server replied {protocol.close_rcvd}; SERVER_LOG not set: server side not checked"
    # The server logs the code and its Debug form of the reason, which for
    # these reasons is the JSON string.
    needle = f":{local_port}: closed with "
    want = f"{needle}{code} {json.dumps(reason, ensure_ascii=False)} (clean: true)"
    line = None
    for _ in range(50):  # the server logs from its own thread
        with open(log, encoding="utf-8", errors="replace") as f:
            line = next((l.strip() for l in f if needle in l), None)
        if line:
            break
        await asyncio.sleep(0.1)
    expect(line is not None, f"server log has no line containing {needle!r}")
    expect(want in line, f"server saw {line!r}, wanted {want!r}")
    return f"server replied {protocol.close_rcvd}, logged {code} {reason!r}"


@check
async def close_1000_with_reason(url):
    return await close_with(url, 1000, "interop done ✓")


@check
async def close_4001_with_reason(url):
    return await close_with(url, 4001, f"private code ✓ {os.urandom(4).hex()}")


# --- handshake negatives (raw TCP) -------------------------------------------


async def raw_request(url, headers):
    parts = urllib.parse.urlsplit(url)
    host, port = parts.hostname, parts.port
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 5)
    try:
        lines = [f"GET {parts.path or '/'} HTTP/1.1", f"Host: {host}:{port}", *headers]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        status_line, *fields = head.decode("latin-1").split("\r\n")
        version, status, *_ = status_line.split(" ", 2)
        expect(version == "HTTP/1.1", f"bad status line {status_line!r}")
        parsed = {}
        for field in fields:
            if field:
                name, _, value = field.partition(":")
                parsed.setdefault(name.strip().lower(), []).append(value.strip())
        # A refusal must be a complete HTTP response, after which the server
        # hangs up (it does not switch protocols).
        length = int(parsed.get("content-length", ["0"])[0])
        await asyncio.wait_for(reader.readexactly(length), 5)
        rest = await asyncio.wait_for(reader.read(), 5)
        expect_equal(rest, b"", "bytes after the refusal's body")
    finally:
        writer.close()
    return int(status), parsed, status_line


BASE_HEADERS = ["Upgrade: websocket", "Connection: Upgrade"]
KEY = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="


@check
async def handshake_version_8_gets_426(url):
    status, headers, line = await raw_request(
        url, BASE_HEADERS + [KEY, "Sec-WebSocket-Version: 8"])
    expect_equal(status, 426, f"status ({line!r})")
    versions = [v.strip() for vs in headers.get("sec-websocket-version", [])
                for v in vs.split(",")]
    expect("13" in versions,
           f"426 lacks Sec-WebSocket-Version: 13 (got {headers.get('sec-websocket-version')})")


@check
async def handshake_missing_key_gets_400(url):
    status, _, line = await raw_request(url, BASE_HEADERS + ["Sec-WebSocket-Version: 13"])
    expect_equal(status, 400, f"status ({line!r})")


# --- runner ------------------------------------------------------------------


async def main(url):
    print(f"websockets {websockets.__version__} (Python {sys.version.split()[0]}) -> {url}")
    passed = failed = 0
    for fn in CHECKS:
        name = fn.__name__
        started = time.monotonic()
        try:
            note = await asyncio.wait_for(fn(url), CHECK_TIMEOUT)
        except Exception as exc:  # noqa: BLE001 - every failure is reported
            failed += 1
            if isinstance(exc, (asyncio.TimeoutError, TimeoutError)) and not str(exc):
                why = "timed out"
            elif isinstance(exc, CheckFailed):
                why = str(exc)
            else:
                why = f"{type(exc).__name__}: {exc}"
            print(f"FAIL {name}: {why}", flush=True)
            if not isinstance(exc, CheckFailed) and os.environ.get("INTEROP_VERBOSE"):
                traceback.print_exc()
        else:
            passed += 1
            ms = (time.monotonic() - started) * 1000
            extra = f" ({note})" if note else ""
            print(f"PASS {name} [{ms:.0f} ms]{extra}", flush=True)
    print(f"{passed} passed, {failed} failed", flush=True)
    return failed == 0 and passed > 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} ws://127.0.0.1:PORT/")
    sys.exit(0 if asyncio.run(main(sys.argv[1])) else 1)
