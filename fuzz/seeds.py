#!/usr/bin/env python3
"""Writes the seed corpora, fuzz/corpus/<target>/seed-*, from the examples
of RFC 6455 (sections 1.2, 1.3, 5.7) and RFC 7692 (sections 5, 7.2.3).

Each target's input format is described at the top of its source; the
prefix bytes below follow them. Run from anywhere: python3 fuzz/seeds.py
"""

import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
KEY = bytes([0x37, 0xFA, 0x21, 0x3D])  # the masking key of RFC 6455 section 5.7


def frame(first, payload, mask=None, length=None):
    """One frame: `first` is FIN|RSV|opcode; `length` overrides the length."""
    n = len(payload) if length is None else length
    mask_bit = 0x80 if mask else 0
    if n <= 125:
        head = bytes([first, mask_bit | n])
    elif n <= 0xFFFF:
        head = bytes([first, mask_bit | 126]) + struct.pack(">H", n)
    else:
        head = bytes([first, mask_bit | 127]) + struct.pack(">Q", n)
    if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        head += mask
    return head + payload


HELLO = b"Hello"
CLOSE_1000 = struct.pack(">H", 1000) + b"bye"
# RFC 7692 section 7.2.3: compressed payloads.
DEFLATE_HELLO = bytes([0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00])  # 7.2.3.1
DEFLATE_HELLO_AGAIN = bytes([0xF2, 0x00, 0x11, 0x00, 0x01, 0x00])  # 7.2.3.2
DEFLATE_STORED = bytes([0x00, 0x05, 0x00, 0xFA, 0xFF]) + HELLO + b"\x00"  # 7.2.3.3
DEFLATE_BFINAL = bytes([0xF3, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00, 0x00])  # 7.2.3.4
DEFLATE_TWO_BLOCKS = bytes(  # 7.2.3.5
    [0xF2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xCA, 0xC9, 0xC9, 0x07, 0x00]
)


def streams(mask):
    """Frame streams a peer sends: RFC 6455 section 5.7 and RFC 7692."""
    return {
        "text-hello": frame(0x81, HELLO, mask),
        "fragmented-hello": frame(0x01, b"Hel", mask) + frame(0x80, b"lo", mask),
        "ping-hello": frame(0x89, HELLO, mask),
        "pong-hello": frame(0x8A, HELLO, mask),
        "ping-between-fragments": frame(0x01, b"Hel", mask)
        + frame(0x89, b"", mask)
        + frame(0x80, b"lo", mask),
        "binary-256": frame(0x82, bytes(range(256)), mask),
        # The 64 KiB header of section 5.7, with the start of its payload.
        "binary-64k-header": frame(0x82, bytes(64), mask, length=65536)[: 14 + 64],
        "close-1000": frame(0x88, CLOSE_1000, mask),
        "close-empty": frame(0x88, b"", mask),
        "hello-then-close": frame(0x81, HELLO, mask) + frame(0x88, CLOSE_1000, mask),
    }


def compressed_streams(mask):
    """RFC 7692 section 7.2.3 messages, RSV1 on the first frame."""
    return {
        "deflate-hello": frame(0xC1, DEFLATE_HELLO, mask),
        "deflate-hello-twice": frame(0xC1, DEFLATE_HELLO, mask)
        + frame(0xC1, DEFLATE_HELLO_AGAIN, mask),
        "deflate-fragmented": frame(0x41, DEFLATE_HELLO[:3], mask)
        + frame(0x80, DEFLATE_HELLO[3:], mask),
        "deflate-stored": frame(0xC1, DEFLATE_STORED, mask),
        "deflate-bfinal": frame(0xC1, DEFLATE_BFINAL, mask),
        "deflate-two-blocks": frame(0xC2, DEFLATE_TWO_BLOCKS, mask),
        "deflate-empty": frame(0xC1, b"\x00", mask),
    }


REQUEST = (
    b"GET /chat HTTP/1.1\r\n"
    b"Host: server.example.com\r\n"
    b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Origin: http://example.com\r\n"
    b"Sec-WebSocket-Protocol: chat, superchat\r\n"
    b"Sec-WebSocket-Version: 13\r\n\r\n"
)
REQUEST_DEFLATE = REQUEST.replace(
    b"Sec-WebSocket-Version",
    b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits; "
    b"server_max_window_bits=10, permessage-deflate; client_max_window_bits\r\n"
    b"Sec-WebSocket-Version",
)
RESPONSE = (
    b"HTTP/1.1 101 Switching Protocols\r\n"
    b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
    b"Sec-WebSocket-Protocol: chat\r\n\r\n"
)
RESPONSE_DEFLATE = RESPONSE.replace(
    b"\r\n\r\n",
    b"\r\nSec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10; "
    b"client_max_window_bits=12\r\n\r\n",
)

OFFERS = [
    b"permessage-deflate; client_max_window_bits",
    b"permessage-deflate; client_max_window_bits; server_max_window_bits=10, "
    b"permessage-deflate; client_max_window_bits",
    b'permessage-deflate; server_no_context_takeover; server_max_window_bits="8"',
    b"permessage-deflate; client_no_context_takeover, x-webkit-deflate-frame",
]


def seeds():
    out = {}
    # frame_header: raw headers (and their payloads) from section 5.7.
    for name, data in streams(None).items():
        out[("frame_header", name)] = data[:32]
    for name, data in streams(KEY).items():
        out[("frame_header", "masked-" + name)] = data[:32]

    # recv_*: [flags, split seed, stream]; bit 2 of flags = deflate agreed.
    for target, mask in (("recv_server", KEY), ("recv_client", None)):
        for name, data in streams(mask).items():
            out[(target, name)] = bytes([0x00, 0x00]) + data
            out[(target, name + "-split")] = bytes([0x10, 0x01]) + data
        for name, data in compressed_streams(mask).items():
            out[(target, name)] = bytes([0x04, 0x00]) + data
        # A limit: 256 bytes past the smallest profile (64-byte frames).
        out[(target, "binary-256-limited")] = bytes([0x00, 0x03]) + streams(mask)["binary-256"]

    # handshake_request: [flags, split, decision, inject, request]. flags:
    # bits 0-1 limits, 2-3 deflate config, bit 4 template mode, bit 5 EOF;
    # decision: low 3 bits what, high nibble its parameter.
    hr = "handshake_request"
    out[(hr, "rfc6455-1.2")] = bytes([0x00, 0x00, 0x00, 0x00]) + REQUEST
    out[(hr, "rfc6455-1.2-small-limits")] = bytes([0x01, 0x01, 0x00, 0x00]) + REQUEST
    out[(hr, "rfc6455-1.2-protocol")] = bytes([0x00, 0x02, 0x11, 0x00]) + REQUEST
    out[(hr, "rfc7692-offers")] = bytes([0x06, 0x03, 0x01, 0x00]) + REQUEST_DEFLATE
    out[(hr, "rfc7692-declined")] = bytes([0x0A, 0x04, 0x02, 0x00]) + REQUEST_DEFLATE
    out[(hr, "with-frame")] = bytes([0x20, 0x05, 0x00, 0x00]) + REQUEST + frame(0x81, HELLO, KEY)
    out[(hr, "refusal-401")] = bytes([0x00, 0x06, 0x15, 0x00]) + REQUEST
    out[(hr, "refusal-by-origin")] = bytes([0x00, 0x07, 0x06, 0x00]) + REQUEST
    out[(hr, "copied-header")] = bytes([0x00, 0x08, 0x63, 0x00]) + REQUEST
    out[(hr, "deadline-while-deciding")] = bytes([0x00, 0x09, 0x07, 0x00]) + REQUEST
    out[(hr, "deadline-while-reading")] = bytes([0x00, 0x0A, 0x00, 0x00]) + REQUEST[:40]
    out[(hr, "eof-while-reading")] = bytes([0x20, 0x0B, 0x00, 0x00]) + REQUEST[:40]
    out[(hr, "timeout-injected")] = bytes([0x00, 0x41, 0x00, 0x03]) + REQUEST
    out[(hr, "finish-injected")] = bytes([0x00, 0x81, 0x00, 0x45]) + REQUEST
    out[(hr, "bad-version")] = bytes([0x00, 0x0C, 0x00, 0x00]) + REQUEST.replace(
        b"Version: 13", b"Version: 8"
    )
    # The minimal input of a src bug found here and fixed (README.md):
    # reject with 42, which goes out, and is reported, as 500.
    out[(hr, "regression-refused-status-not-sent")] = bytes([0x10, 0x00, 0xC5, 0x00])
    # The deadline right after the last byte of the 101 (1 read, the
    # decision, 5 writes): the connection stands (a src bug fixed, README.md).
    out[(hr, "deadline-after-101")] = bytes([0x00, 0xDF, 0x00, 0x07]) + REQUEST
    # Refused since bf15136: a fragment in the target, userinfo or a port
    # past 65535 in Host, two Origin fields.
    out[(hr, "target-fragment")] = bytes([0x00, 0x0D, 0x00, 0x00]) + REQUEST.replace(
        b"GET /chat ", b"GET /chat#top "
    )
    out[(hr, "host-userinfo")] = bytes([0x00, 0x0E, 0x00, 0x00]) + REQUEST.replace(
        b"Host: ", b"Host: user@"
    )
    out[(hr, "host-port-65536")] = bytes([0x00, 0x0F, 0x00, 0x00]) + REQUEST.replace(
        b"server.example.com", b"server.example.com:65536"
    )
    out[(hr, "duplicate-origin")] = bytes([0x00, 0x10, 0x00, 0x00]) + REQUEST.replace(
        b"Origin: http://example.com\r\n",
        b"Origin: http://example.com\r\nOrigin: http://evil.example\r\n",
    )
    # Template lines ClientRequest::header refuses (connection-specific).
    out[(hr, "template-hop-by-hop")] = (
        bytes([0x10, 0x02, 0x00, 0x00])
        + b"\nchat\nKeep-Alive: 5\nTE: trailers\nProxy-Connection: keep-alive\nX-Ok: 1"
    )
    out[(hr, "template")] = (
        bytes([0x14, 0x01, 0x01, 0x00])
        + b"permessage-deflate; client_max_window_bits; server_max_window_bits=10"
        + b"\nchat, superchat\nOrigin: http://example.com\x00"
        + frame(0x81, HELLO, KEY)
    )

    # handshake_response: [flags, split, inject, response]. flags: bits 0-1
    # limits, 2-3 offer (config, config asking for 10 bits and
    # server_no_context_takeover, the caller's, none), bit 4 EOF after the
    # machine looked at the last bytes, bit 5 which caller's offer list,
    # bit 6 EOF right after the last bytes, before the machine looks;
    # inject: step in bits 0-5, then bit 7 recv_eof (with bit 6, then the
    # deadline), else bit 6 finish, else the deadline.
    hs = "handshake_response"
    accept_10 = RESPONSE.replace(
        b"\r\n\r\n",
        b"\r\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "
        b"server_max_window_bits=10; client_max_window_bits=12\r\n\r\n",
    )
    out[(hs, "rfc6455-1.3")] = bytes([0x00, 0x00, 0x00]) + RESPONSE
    out[(hs, "rfc7692-answer")] = bytes([0x00, 0x01, 0x00]) + RESPONSE_DEFLATE
    out[(hs, "rfc7692-answer-10-bits")] = bytes([0x04, 0x02, 0x00]) + accept_10
    out[(hs, "with-frames")] = (
        bytes([0x00, 0x03, 0x00])
        + RESPONSE_DEFLATE
        + frame(0xC1, DEFLATE_HELLO)
        + frame(0x81, HELLO)
    )
    out[(hs, "caller-offers")] = bytes([0x08, 0x04, 0x00]) + RESPONSE.replace(
        b"\r\n\r\n",
        b"\r\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "
        b"client_no_context_takeover\r\n\r\n",
    )
    out[(hs, "caller-offers-8-bits")] = bytes([0x28, 0x05, 0x00]) + RESPONSE.replace(
        b"\r\n\r\n",
        b"\r\nSec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=8; "
        b"client_max_window_bits=9\r\n\r\n",
    )
    out[(hs, "no-offer")] = bytes([0x0C, 0x06, 0x00]) + RESPONSE
    out[(hs, "eof-mid-head")] = bytes([0x10, 0x07, 0x00]) + RESPONSE[:40]
    out[(hs, "timeout-injected")] = bytes([0x00, 0x41, 0x03]) + RESPONSE
    out[(hs, "finish-injected")] = bytes([0x00, 0x81, 0x42]) + RESPONSE
    # The minimal input of a src bug found here and fixed (README.md): a
    # close-delimited refusal body read in 1-2 byte pieces; it now waits
    # for EOF, so without EOF (as here) the deadline ends it, and with EOF
    # (the -eof seed) the body is "no" whatever the split.
    out[(hs, "regression-close-delimited-refusal")] = (
        bytes([0x00, 0x01, 0x00]) + b"HTTP/1.1 403 Forbidden\r\n\r\nno"
    )
    out[(hs, "regression-close-delimited-refusal-eof")] = (
        bytes([0x10, 0x01, 0x00]) + b"HTTP/1.1 403 Forbidden\r\n\r\nno"
    )
    # A src issue found here and fixed in bf15136 (README.md): a
    # close-delimited refusal of exactly max_size (64) bytes was
    # ResponseError::TooLarge; it is Rejected with its whole body at EOF (here
    # after the machine looked, in the -eof-with-last seed before), and
    # one byte more is ResponseError::TooLarge.
    head = b"HTTP/1.1 403 Forbidden\r\n\r\n"
    at_limit = head + b"x" * (64 - len(head))
    out[(hs, "regression-close-delimited-refusal-at-limit")] = (
        bytes([0x13, 0x01, 0x00]) + at_limit
    )
    out[(hs, "close-delimited-refusal-at-limit-eof-with-last")] = (
        bytes([0x53, 0x00, 0x00]) + at_limit
    )
    out[(hs, "close-delimited-refusal-past-limit")] = bytes([0x13, 0x01, 0x00]) + at_limit + b"x"
    # A known src issue (README.md): the same 65 bytes, EOF before the
    # machine looks at them: Rejected with the body cut at 64 bytes.
    out[(hs, "regression-eof-before-poll-past-limit")] = (
        bytes([0x53, 0x00, 0x00]) + at_limit + b"x"
    )
    # Interim answers before the 101 are skipped (RFC 9110 section 15.2);
    # the frame after it reaches the connection.
    out[(hs, "interim-100-103-then-101")] = (
        bytes([0x00, 0x02, 0x00])
        + b"HTTP/1.1 100 Continue\r\n\r\n"
        + b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
        + RESPONSE
        + frame(0x81, HELLO)
    )
    out[(hs, "interim-103-then-refusal")] = (
        bytes([0x11, 0x03, 0x00])
        + b"HTTP/1.1 103 Early Hints\r\n\r\n"
        + b"HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno"
    )
    # A whole 101 and a frame, then EOF before the machine looks at them:
    # the connection stands, with the frame and then the end.
    out[(hs, "101-then-eof-before-poll")] = (
        bytes([0x40, 0x00, 0x00]) + RESPONSE + frame(0x81, HELLO)
    )
    out[(hs, "101-then-eof-before-poll-split")] = (
        bytes([0x40, 0x03, 0x00]) + RESPONSE + frame(0x81, HELLO)
    )
    # EOF while the request is still being written (after 3 one-byte writes).
    out[(hs, "eof-while-writing")] = bytes([0x00, 0x01, 0x83]) + RESPONSE
    out[(hs, "refusal")] = (
        bytes([0x01, 0x01, 0x00]) + b"HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno"
    )
    out[(hs, "refusal-chunked")] = (
        bytes([0x02, 0x02, 0x00])
        + b"HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"2\r\nno\r\n0\r\n\r\n"
    )

    # deflate: mode 0 inflate [0, params, max lo, max hi, seed, data],
    # mode 1 round trip [1, params, level, seed, data], mode 2 [2, c, s, text].
    for name, data in (
        ("hello", DEFLATE_HELLO),
        ("hello-twice", DEFLATE_HELLO + DEFLATE_HELLO_AGAIN),
        ("stored", DEFLATE_STORED),
        ("bfinal", DEFLATE_BFINAL),
        ("two-blocks", DEFLATE_TWO_BLOCKS),
    ):
        out[("deflate", "inflate-" + name)] = bytes([0, 7, 0, 1, 0]) + data
        out[("deflate", "inflate-split-" + name)] = bytes([0, 7, 5, 0, 3]) + data
    out[("deflate", "roundtrip-hello")] = bytes([1, 7, 1, 0]) + HELLO
    out[("deflate", "roundtrip-parts")] = bytes([1, 0x17, 6, 5]) + REQUEST
    out[("deflate", "roundtrip-8-bits")] = bytes([1, 0x20, 9, 2]) + REQUEST * 2
    for i, offer in enumerate(OFFERS):
        out[("deflate", "negotiate-%d" % i)] = bytes([2, i * 37, 0x20 | i]) + offer
    return out


def main():
    for (target, name), data in seeds().items():
        directory = os.path.join(HERE, "corpus", target)
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "seed-" + name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
