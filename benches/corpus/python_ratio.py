"""Compression ratio of Python websockets' default permessage-deflate
(server side: window 12 bits, memLevel 5, level 6, context takeover) on
chat.jsonl, each line one message: compressed payload bytes over raw."""
import zlib, pathlib
lines = pathlib.Path(__file__).with_name("chat.jsonl").read_text().splitlines()
def ratio(wbits, mem_level, level, context_takeover):
    raw = out = 0
    c = zlib.compressobj(level, zlib.DEFLATED, -wbits, mem_level)
    for line in lines:
        data = line.encode()
        if not context_takeover:
            c = zlib.compressobj(level, zlib.DEFLATED, -wbits, mem_level)
        z = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
        assert z.endswith(b"\x00\x00\xff\xff")
        raw += len(data)
        out += len(z) - 4
    return out / raw
print(f"python websockets default (12 bits, memLevel 5, level 6, context takeover): {ratio(12, 5, 6, True):.3f}")
print(f"python zlib, no context takeover (12 bits, memLevel 5, level 6): {ratio(12, 5, 6, False):.3f}")
