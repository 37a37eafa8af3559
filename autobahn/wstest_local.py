# -*- coding: utf-8 -*-
"""Loopback-only wrapper around Autobahn|Testsuite's `wstest` (Python 2.7).

Run it with the venv's interpreter, exactly like `wstest`:

    .venv/bin/python -u wstest_local.py -m fuzzingserver -s fuzzingserver.json -u 0

Stock wstest 0.8.2 binds its listening sockets (the fuzzingserver's
WebSocket port and the optional `-u` web port) to all interfaces
(`listenWS(factory)` -> interface ''). This wrapper forces every TCP/SSL
listener the reactor opens without an explicit interface onto 127.0.0.1
(override with WSTEST_INTERFACE), then hands over to wstest's own `run()`.

Extra mode, not part of wstest:

    .venv/bin/python wstest_local.py --list-cases SPEC.json

prints the case ids that SPEC selects (its "cases" minus "exclude-cases"),
one per line, in wstest's order, resolved by wstest's own CaseSet code.
"""
from __future__ import print_function

import json
import os
import sys
import warnings

# cryptography 3.3.x warns on every import under Python 2; that is noise here.
warnings.filterwarnings("ignore", message=".*Python 2 is no longer supported.*")

# Must come first: installs the Twisted reactor wstest wants (as wstest.py does).
from autobahntestsuite import choosereactor  # noqa: F401,E402

from twisted.internet import reactor  # noqa: E402

import autobahn.twisted.websocket as _atws  # noqa: E402
from autobahntestsuite import fuzzing as _fuzzing  # noqa: E402

INTERFACE = os.environ.get("WSTEST_INTERFACE", "127.0.0.1")


def _bind_local(orig):
    """Wrap reactor.listenTCP / listenSSL: default interface -> INTERFACE."""

    def wrapper(port, factory, *args, **kwargs):
        args = list(args)
        # listenTCP(port, factory, backlog=50, interface='')
        # listenSSL(port, factory, contextFactory, backlog=50, interface='')
        iface_pos = 1 if orig.__name__ == "listenTCP" else 2
        if len(args) > iface_pos:
            if not args[iface_pos]:
                args[iface_pos] = INTERFACE
        elif not kwargs.get("interface"):
            kwargs["interface"] = INTERFACE
        return orig(port, factory, *args, **kwargs)

    wrapper.__name__ = orig.__name__
    return wrapper


reactor.listenTCP = _bind_local(reactor.listenTCP)
reactor.listenSSL = _bind_local(reactor.listenSSL)

_orig_listenWS = _atws.listenWS


def listenWS(factory, contextFactory=None, backlog=50, interface=""):
    return _orig_listenWS(factory, contextFactory, backlog, interface or INTERFACE)


# fuzzing.py did `from autobahn.twisted.websocket import listenWS`: patch both.
_atws.listenWS = listenWS
_fuzzing.listenWS = listenWS


def list_cases(spec_path):
    from autobahntestsuite.case import (Cases, CaseCategories, CaseSubCategories,
                                        CaseSetname, CaseBasename)
    from autobahntestsuite.caseset import CaseSet

    with open(spec_path) as f:
        spec = json.load(f)
    cs = CaseSet(CaseSetname, CaseBasename, Cases, CaseCategories, CaseSubCategories)
    for case_id in cs.parseSpecCases(spec):
        print(case_id)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--list-cases":
        list_cases(sys.argv[2])
        return
    from autobahntestsuite import wstest

    sys.argv[0] = "wstest"
    wstest.run()


if __name__ == "__main__":
    main()
