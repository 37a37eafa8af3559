"""Writes chat.jsonl: 500 messages as the chat example's server sends them
(protocol.rs), deterministic (seeded), for compression-ratio measurements."""
import json
import random

rng = random.Random(6455)
names = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"]
rooms = ["lobby", "rust", "websockets", "random"]
words = (
    "the a to and of in is it you that for on with this be are at have not was "
    "but what all can do so if out about just like get one up when there my "
    "message server client frame close ping pong socket deflate window context "
    "latency throughput broadcast room join leave hello thanks sure maybe tomorrow "
    "meeting deploy build test review merge branch issue fixed works broken again"
).split()

def text():
    n = rng.choice([1, 2, 3, 4, 6, 8, 12, 16, 24, 40])
    return " ".join(rng.choice(words) for _ in range(n)).capitalize() + rng.choice([".", "!", "?", ""])

lines = []
for _ in range(500):
    room = rng.choice(rooms)
    kind = rng.random()
    if kind < 0.8:
        msg = {"type": "message", "room": room, "from": rng.choice(names), "text": text()}
    elif kind < 0.9:
        msg = {"type": "joined", "room": room, "name": rng.choice(names)}
    elif kind < 0.97:
        msg = {"type": "left", "room": room, "name": rng.choice(names), "reason": rng.choice(["left", "disconnected", "dropped"])}
    else:
        members = sorted(rng.sample(names, rng.randint(1, len(names))))
        msg = {"type": "welcome", "name": rng.choice(names), "room": room, "members": members}
    lines.append(json.dumps(msg, separators=(",", ":")))

with open("chat.jsonl", "w") as f:
    f.write("\n".join(lines) + "\n")
