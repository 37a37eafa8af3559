#!/usr/bin/env python3
"""Summarize Autobahn|Testsuite reports and gate them against expected.json.

    python3 autobahn/summarize.py [--expected FILE] [--agent NAME] [server] [client]

Reads autobahn/reports/{server,client}/index.json (written by wstest), prints
per role a table of behavior / behaviorClose counts per result and the cases
that are not OK, then compares every case with the expectation file:

* a case matching no entry must have behavior OK and behaviorClose OK or
  INFORMATIONAL;
* an entry (exact case id, or a wstest-style pattern such as "12.*") adds the
  listed results to what the case may have; OK is always allowed; when
  several entries match a case, their allowances add up;
* every case the run selected must be in the report: run.sh stores the
  selected ids in reports/ROLE/cases.txt; without that file the report must
  hold at least "case_count" cases.

Exit status 1 when any case is worse than allowed or missing (each one is
printed), 0 otherwise. Allowances that no case needed any more are printed
too, so the expectation can be tightened.

Also (used by run.sh when a client testee died before asking for reports):

    python3 autobahn/summarize.py --update-reports ws://127.0.0.1:9003 AGENT

Standard library only.
"""
import argparse
import base64
import json
import os
import re
import socket
import struct
import sys
from urllib.parse import quote, urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
ROLES = ("server", "client")
FIELDS = ("behavior", "behaviorClose")
# Results allowed for every case, whatever the expectation file says.
BASELINE = {"behavior": {"OK"}, "behaviorClose": {"OK"}}
# Row order of the table; any other result wstest reports gets a row too.
KNOWN = ["OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED",
         "WRONG CODE", "UNCLEAN", "FAILED BY CLIENT", "NO_CLOSE"]
MISSING = "missing"


def case_key(case_id):
    return tuple(int(p) if p.isdigit() else p for p in case_id.split("."))


def pattern_regex(pattern):
    """wstest's case pattern syntax: '.' literal, '*' any run of characters."""
    return re.compile("^" + re.escape(pattern).replace(r"\*", ".*") + "$")


class Expectation:
    def __init__(self, role, entries):
        self.role = role
        self.entries = []  # (key, regex, {field: set})
        for key, allow in entries.items():
            if not isinstance(allow, dict):
                raise ValueError("%s: entry %r must be an object" % (role, key))
            fields = {}
            for field, values in allow.items():
                if field not in FIELDS:
                    raise ValueError("%s: entry %r: unknown field %r (use %s)"
                                     % (role, key, field, ", ".join(FIELDS)))
                if isinstance(values, str):
                    values = [values]
                fields[field] = set(values)
            self.entries.append((key, pattern_regex(key), fields))

    def matching(self, case_id):
        return [e for e in self.entries if e[1].match(case_id)]

    def allowed(self, case_id, field):
        allowed = set(BASELINE[field])
        for _key, _rx, fields in self.matching(case_id):
            allowed |= fields.get(field, set())
        return allowed


def load_json(path):
    with open(path) as f:
        return json.load(f)


def pick_agent(index, agent, role):
    if agent is not None:
        if agent not in index:
            # e.g. a client testee that died before its first case
            print("NOTE: agent %r is not in the report (agents there: %s)" % (
                agent, ", ".join(sorted(index)) or "none"))
            return {}, None
        return index[agent], None
    if len(index) != 1:
        return None, "report has %d agents (%s); pass --agent" % (
            len(index), ", ".join(sorted(index)))
    return next(iter(index.values())), None


def compress(ids, universe):
    """Case ids, with every complete subtree of `universe` shown as 'P.*'."""
    ids, out, covered = set(ids), [], set()
    for case_id in sorted(ids, key=case_key):
        if case_id in covered:
            continue
        parts = case_id.split(".")
        for k in range(1, len(parts)):
            prefix = ".".join(parts[:k]) + "."
            under = [u for u in universe if u.startswith(prefix)]
            if len(under) > 1 and ids.issuperset(under):
                out.append(prefix + "*")
                covered.update(under)
                break
        else:
            out.append(case_id)
            covered.add(case_id)
    return out


def wrap(words, indent, width=78):
    lines, line = [], indent
    for w in words:
        if len(line) + len(w) + 1 > width and line.strip():
            lines.append(line.rstrip())
            line = indent
        line += w + " "
    lines.append(line.rstrip())
    return "\n".join(lines)


def print_table(results, selected):
    counts = {f: {} for f in FIELDS}
    for case_id in selected:
        r = results.get(case_id)
        for f in FIELDS:
            v = r.get(f, MISSING) if r else MISSING
            counts[f][v] = counts[f].get(v, 0) + 1
    rows = [k for k in KNOWN[:5]]
    rows += sorted({v for f in FIELDS for v in counts[f]} - set(rows) - {MISSING})
    rows.append(MISSING)
    w = max(len(r) for r in rows) + 2
    print("  %-*s %9s %14s" % (w, "result", "behavior", "behaviorClose"))
    for row in rows:
        print("  %-*s %9d %14d" % (w, row, counts["behavior"].get(row, 0),
                                   counts["behaviorClose"].get(row, 0)))
    print("  %-*s %9d %14d" % (w, "total", len(selected), len(selected)))


def check_role(role, args, expected):
    """Print the role's summary; return the list of regressions."""
    print("=" * 72)
    print("%s role (reports/%s)" % (role, role))
    print("=" * 72)
    out = os.path.join(args.reports, role)
    index_path = os.path.join(out, "index.json")
    try:
        exp = Expectation(role, expected.get(role, {}))
    except ValueError as e:
        return ["expected.json: %s" % e]
    case_count = expected.get("case_count")
    if isinstance(case_count, dict):
        case_count = case_count.get(role)

    if not os.path.exists(index_path):
        return ["no report: %s does not exist (the run crashed or never finished; "
                "see autobahn/wstest-%s.log and autobahn/testee-%s.log)"
                % (index_path, role, role)]
    try:
        index = load_json(index_path)
    except (OSError, ValueError) as e:
        return ["unreadable report %s: %s" % (index_path, e)]
    results, err = pick_agent(index, args.agent, role)
    if err:
        return [err]

    regressions = []
    cases_txt = os.path.join(out, "cases.txt")
    if os.path.exists(cases_txt):
        with open(cases_txt) as f:
            selected = [l.strip() for l in f if l.strip()]
        if case_count and len(selected) < case_count:
            print("NOTE: partial run, %d of %d cases selected" % (len(selected), case_count))
    else:
        selected = sorted(results, key=case_key)
        if case_count and len(selected) < case_count:
            regressions.append("report holds %d cases, expected %d"
                               % (len(selected), case_count))
    extra = sorted(set(results) - set(selected), key=case_key)
    if extra:
        print("NOTE: %d cases in the report were not selected (ignored): %s"
              % (len(extra), " ".join(extra)))

    print_table(results, selected)

    missing = [c for c in selected if c not in results]
    not_ok = []
    for case_id in selected:
        r = results.get(case_id)
        if r is None:
            continue
        b, bc = r.get("behavior", MISSING), r.get("behaviorClose", MISSING)
        if b != "OK" or bc != "OK":
            not_ok.append((case_id, b, bc))
        for field, value in (("behavior", b), ("behaviorClose", bc)):
            allowed = exp.allowed(case_id, field)
            if value not in allowed:
                regressions.append("%s: %s %s (allowed: %s)" % (
                    case_id, field, value, ", ".join(sorted(allowed))))
    if missing:
        regressions.append("%d case%s missing from the report: %s" % (
            len(missing), "" if len(missing) == 1 else "s",
            " ".join(compress(missing, selected))))

    if not_ok:
        # Group by (behavior, behaviorClose, allowed?) and collapse groups
        # that cover a whole subtree ("12.*") to keep the listing short.
        groups = {}
        for case_id, b, bc in not_ok:
            ok = b in exp.allowed(case_id, "behavior") and \
                bc in exp.allowed(case_id, "behaviorClose")
            groups.setdefault((ok, b, bc), []).append(case_id)
        print("not OK (%d cases), as behavior / behaviorClose:" % len(not_ok))
        for (ok, b, bc), ids in sorted(groups.items(),
                                       key=lambda g: (g[0][0], case_key(g[1][0]))):
            print("  %s / %s (%d)%s:" % (b, bc, len(ids), "" if ok else "  <-- NOT ALLOWED"))
            print(wrap(compress(ids, selected), "      "))
    else:
        print("not OK: none")
    if missing:
        print("missing (%d):" % len(missing))
        print(wrap(compress(missing, selected), "      "))

    # Allowances no case needed: the expectation can be tightened.
    better = []
    ran = [c for c in selected if c in results]
    for key, rx, fields in exp.entries:
        matched = [c for c in ran if rx.match(c)]
        if not matched:
            continue
        for field, allowed in sorted(fields.items()):
            seen = {results[c].get(field) for c in matched}
            if not seen <= allowed | BASELINE[field]:
                continue  # a regression, reported above
            unused = sorted(allowed - seen - BASELINE[field])
            if unused:
                better.append("%s %s: %s allowed, but %s now (%d case%s)" % (
                    key, field, "/".join(unused), "/".join(sorted(seen)),
                    len(matched), "" if len(matched) == 1 else "s"))
    if better:
        print("better than expected (tighten expected.json):")
        for line in better:
            print("  " + line)

    if not regressions:
        print("%s role: PASS (%d cases checked)" % (role, len(ran)))
    return regressions


def update_reports(url, agent, timeout=300.0):
    """Open ws://HOST:PORT/updateReports?agent=AGENT and wait for the close."""
    u = urlsplit(url)
    host, port = u.hostname, u.port or 80
    key = base64.b64encode(os.urandom(16)).decode()
    path = "/updateReports?agent=" + quote(agent)
    req = ("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
           "Sec-WebSocket-Version: 13\r\n\r\n" % (path, host, port, key))
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(req.encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(4096)
            if not chunk:
                raise OSError("connection closed during the handshake")
            buf += chunk
        head, buf = buf.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise OSError("handshake refused: %r" % head.split(b"\r\n", 1)[0])

        def need(n):
            nonlocal buf
            while len(buf) < n:
                chunk = s.recv(65536)
                if not chunk:
                    raise EOFError
                buf += chunk
            data, buf = buf[:n], buf[n:]
            return data

        try:
            while True:  # read frames until the server's close frame
                b0, b1 = need(2)
                n = b1 & 0x7F
                if n == 126:
                    n = struct.unpack("!H", need(2))[0]
                elif n == 127:
                    n = struct.unpack("!Q", need(8))[0]
                if b1 & 0x80:
                    need(4)
                need(n)
                if b0 & 0x0F == 0x8:
                    s.sendall(b"\x88\x80" + os.urandom(4))  # masked empty close
                    return
        except EOFError:
            return


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("roles", nargs="*", metavar="ROLE",
                    help="server and/or client (default: both)")
    ap.add_argument("--expected", default=os.path.join(HERE, "expected.json"))
    ap.add_argument("--reports", default=os.path.join(HERE, "reports"))
    ap.add_argument("--agent", default=None,
                    help="agent name in the reports (default: the only one)")
    ap.add_argument("--update-reports", nargs=2, metavar=("URL", "AGENT"),
                    help="ask a wstest fuzzingserver to write its reports, then exit")
    args = ap.parse_args()

    if args.update_reports:
        try:
            update_reports(*args.update_reports)
        except (OSError, ValueError) as e:
            print("updateReports failed: %s" % e, file=sys.stderr)
            return 1
        return 0

    roles = args.roles or list(ROLES)
    for role in roles:
        if role not in ROLES:
            ap.error("unknown role %r (use server and/or client)" % role)
    try:
        expected = load_json(args.expected)
    except (OSError, ValueError) as e:
        print("cannot read %s: %s" % (args.expected, e), file=sys.stderr)
        return 1

    failed = {}
    for role in roles:
        regressions = check_role(role, args, expected)
        if regressions:
            failed[role] = regressions
        print()
    for role, regressions in failed.items():
        print("%s role: FAIL, %d regression%s:" % (
            role, len(regressions), "" if len(regressions) == 1 else "s"))
        for line in regressions:
            print("  " + line)
    if failed:
        return 1
    print("summary: PASS (%s)" % ", ".join(roles))
    return 0


if __name__ == "__main__":
    sys.exit(main())
