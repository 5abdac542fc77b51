"""The socket-leak check of tests/conftest.py can fail: a test that leaks a socket on purpose
errors at teardown, and the same test closing its socket passes."""

from __future__ import annotations

import re
from pathlib import Path

CONFTEST = re.sub(r"^pytest_plugins = .*\n", "", Path(__file__).with_name("conftest.py").read_text(), flags=re.M)


def test_a_leaked_socket_fails_the_test(pytester):
    pytester.makeconftest(CONFTEST)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(test_leaky="""
import zmq

KEPT = []

def test_leaks(zctx):
    KEPT.append(zctx.socket(zmq.DEALER))  # never closed (kept, so no garbage collector closes it)

def test_closes(zctx):
    zctx.socket(zmq.DEALER).close(linger=0)
""")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*the test left 1 ZeroMQ socket(s) open: DEALER socket*"])
