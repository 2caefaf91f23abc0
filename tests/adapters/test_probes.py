"""probe_once against real servers and commands; ProbeLoop with an injected sleep."""

from __future__ import annotations

import asyncio
import http.server
import socket
import threading
from collections.abc import Iterator

import pytest

from lockstep.adapters.probes import ProbeLoop, ProbeOutcome, probe_check, probe_once
from lockstep.model.resource import Probe, ProbeKind


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        code = {"/ok": 200, "/redirect": 302, "/missing": 404, "/boom": 500}.get(self.path, 404)
        self.send_response(code)
        if code == 302:
            self.send_header("Location", "/ok")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_port() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def once(probe: Probe) -> bool:
    return asyncio.run(probe_once(probe))


@pytest.mark.parametrize(
    ("path", "ready"), [("/ok", True), ("/redirect", True), ("/missing", False), ("/boom", False)]
)
def test_http(http_port: int, path: str, ready: bool) -> None:
    assert once(Probe(ProbeKind.HTTP, host="127.0.0.1", port=http_port, path=path)) is ready


def test_http_nothing_listening() -> None:
    assert once(Probe(ProbeKind.HTTP, host="127.0.0.1", port=free_port(), path="/")) is False


def test_http_timeout_on_a_silent_server() -> None:
    # Accepts connections (backlog) but never answers.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        probe = Probe(ProbeKind.HTTP, host="127.0.0.1", port=s.getsockname()[1], timeout_secs=0.2)
        assert once(probe) is False


def test_tcp() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        assert once(Probe(ProbeKind.TCP, host="127.0.0.1", port=s.getsockname()[1])) is True
    assert once(Probe(ProbeKind.TCP, host="127.0.0.1", port=free_port())) is False


def test_exec() -> None:
    assert once(Probe(ProbeKind.EXEC, command=("true",))) is True
    assert once(Probe(ProbeKind.EXEC, command=("false",))) is False
    assert once(Probe(ProbeKind.EXEC, command=("no-such-command-xyz",))) is False
    assert once(Probe(ProbeKind.EXEC, command=())) is False
    assert once(Probe(ProbeKind.EXEC, command=("sleep", "100"), timeout_secs=0.2)) is False


def detail(probe: Probe) -> ProbeOutcome:
    return asyncio.run(probe_check(probe))


def test_failures_say_what_the_check_saw(http_port: int) -> None:
    assert detail(Probe(ProbeKind.HTTP, host="127.0.0.1", port=http_port, path="/boom")) == ProbeOutcome(
        False, "HTTP 500 Internal Server Error")
    assert detail(Probe(ProbeKind.HTTP, host="127.0.0.1", port=http_port, path="/ok")).detail == "HTTP 200 OK"
    port = free_port()
    assert detail(Probe(ProbeKind.TCP, host="127.0.0.1", port=port)) == ProbeOutcome(
        False, f"connection refused (127.0.0.1:{port})")
    assert detail(Probe(ProbeKind.EXEC, command=("false",))) == ProbeOutcome(False, "exit code 1")
    assert detail(Probe(ProbeKind.EXEC, command=("sleep", "100"), timeout_secs=0.2)) == ProbeOutcome(
        False, "timed out after 0.2s")


def test_probe_loop_reports_every_result() -> None:
    seen: list[ProbeOutcome] = []
    results = iter([ProbeOutcome(False, "exit code 1"), ProbeOutcome(True, "exit code 0")])

    async def check(_p: Probe) -> ProbeOutcome:
        return next(results)

    async def sleep(_s: float) -> None:
        if len(seen) >= 2:
            raise asyncio.CancelledError

    loop = ProbeLoop(Probe(ProbeKind.EXEC, command=("x",)), lambda ok: None, sleep=sleep, check=check,
                     on_result=seen.append)
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(loop.run())
    assert seen == [ProbeOutcome(False, "exit code 1"), ProbeOutcome(True, "exit code 0")]
    assert loop.ready


# --- ProbeLoop -------------------------------------------------------------------


class Script:
    """Feeds scripted results to ProbeLoop and records its sleeps; no real time passes."""

    def __init__(self, results: list[bool]) -> None:
        self.results = list(results)
        self.sleeps: list[float] = []
        self.changes: list[bool] = []

    async def check(self, probe: Probe) -> bool:
        if not self.results:
            raise asyncio.CancelledError  # end of script: stop the loop
        return self.results.pop(0)

    async def sleep(self, secs: float) -> None:
        self.sleeps.append(secs)

    def run(self, probe: Probe) -> ProbeLoop:
        loop = ProbeLoop(probe, self.changes.append, sleep=self.sleep, check=self.check)
        with pytest.raises(asyncio.CancelledError):
            asyncio.run(loop.run())
        return loop


def test_loop_defaults_ready_after_first_success() -> None:
    s = Script([False, False, True, True])
    loop = s.run(Probe(ProbeKind.TCP, port=1))
    assert s.changes == [True]
    assert loop.ready
    assert s.sleeps == [10.0] * 4  # period_secs between checks, no initial delay


def test_loop_initial_delay_and_period() -> None:
    s = Script([True])
    s.run(Probe(ProbeKind.TCP, port=1, initial_delay_secs=3, period_secs=0.5))
    assert s.sleeps == [3, 0.5]


def test_loop_thresholds() -> None:
    probe = Probe(ProbeKind.TCP, port=1, success_threshold=2, failure_threshold=3)
    s = Script([True, False, True, True, False, False, True, False, False, False, True, True])
    loop = s.run(probe)
    # ready only after 2 in a row; unready only after 3 failures in a row.
    assert s.changes == [True, False, True]
    assert loop.ready


def test_loop_check_exception_counts_as_failure() -> None:
    calls = iter([True, RuntimeError("boom")])
    changes: list[bool] = []

    async def check(probe: Probe) -> bool:
        item = next(calls, None)
        if item is None:
            raise asyncio.CancelledError
        if isinstance(item, Exception):
            raise item
        return item

    async def sleep(secs: float) -> None:
        pass

    probe = Probe(ProbeKind.TCP, port=1, failure_threshold=1)
    loop = ProbeLoop(probe, changes.append, sleep=sleep, check=check)
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(loop.run())
    assert changes == [True, False]


def test_loop_against_a_real_server(http_port: int) -> None:
    """The default check, real HTTP; the injected sleep just yields."""
    changes: list[bool] = []

    async def main() -> None:
        probe = Probe(ProbeKind.HTTP, host="127.0.0.1", port=http_port, path="/ok")
        loop = ProbeLoop(probe, changes.append, sleep=lambda _s: asyncio.sleep(0))
        task = asyncio.create_task(loop.run())
        while not changes:
            await asyncio.sleep(0)
        task.cancel()

    asyncio.run(asyncio.wait_for(main(), 10))
    assert changes == [True]


def test_an_exec_check_says_what_the_command_printed() -> None:
    failing = detail(Probe(ProbeKind.EXEC, command=("sh", "-c", "echo starting; echo 'db not ready' >&2; exit 3")))
    assert (failing.ok, failing.text) == (False, "exit code 3: db not ready")
    ok = detail(Probe(ProbeKind.EXEC, command=("sh", "-c", "echo fake probe success message")))
    assert (ok.ok, ok.text) == (True, "exit code 0: fake probe success message")
    assert detail(Probe(ProbeKind.EXEC, command=("false",))).text == "exit code 1"
    # The same result with different words is the same result (logged once per change).
    assert ok == ProbeOutcome(True, "exit code 0", "something else")


def test_an_exec_check_that_leaves_a_child_behind_still_answers_in_time() -> None:
    # The background sleep keeps the output open; the answer must not wait for it.
    got = detail(Probe(ProbeKind.EXEC, command=("sh", "-c", "sleep 3 & echo up"), timeout_secs=2))
    assert (got.ok, got.text) == (True, "exit code 0: up")
