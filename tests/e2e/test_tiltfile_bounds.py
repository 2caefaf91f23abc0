"""E2E: a Tiltfile that eats memory, panics the interpreter or blocks cannot take `up` down,
and `up` can be stopped at any point of an evaluation."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from procscan import marked_pids
from upproc import VENV_BIN, Up, wait_until

pytestmark = pytest.mark.e2e

GOOD = "local_resource('svc', serve_cmd='exec sleep 300')\n"
# Bounded limits keep the test cheap; the default is 1024 MiB.
ENV = {"LOCKSTEP_TILTFILE_MEMORY_MB": "200", "RUST_BACKTRACE": "1"}


def _marker() -> tuple[str, str]:
    return "LOCKSTEP_TEST_MARKER", uuid.uuid4().hex


def _pids_running(marker: str, prefix: bytes) -> set[int]:
    found = set()
    for pid in marked_pids(marker):
        try:
            if Path(f"/proc/{pid}/cmdline").read_bytes().startswith(prefix):
                found.add(pid)
        except OSError:
            continue
    return found


@pytest.mark.parametrize("hog", [
    pytest.param('s = "ab"\nfor i in range(40):\n    s = s + s\n', id="rust-panic-string-doubling"),
    pytest.param("n = 3000000000\nfor i in range(100000000):\n    n += 1\n", id="allocating-loop"),
])
def test_a_tiltfile_that_runs_out_of_memory_keeps_the_last_good_config(tmp_path: Path, hog: str) -> None:
    key, value = _marker()
    tf = tmp_path / "Tiltfile"
    tf.write_text(GOOD)
    with Up(tf, tmp_path / "state", env={key: value, **ENV}) as up:
        wait_until(lambda: _pids_running(value, b"sleep"), what="the server to start")
        server = _pids_running(value, b"sleep")
        tf.write_text(GOOD + hog)
        wait_until(lambda: "ran out of memory (limit 200 MiB)" in up.log_text(), timeout=60,
                   what="the memory error")
        assert up.proc.poll() is None, "up died"
        assert _pids_running(value, b"sleep") == server, "the server was stopped by a broken Tiltfile"
        assert "Traceback" not in up.log_text() and "panicked" not in up.log_text()
        # Fixing the Tiltfile reloads as usual.
        tf.write_text(GOOD + "local_resource('after', cmd='echo fixed-now')\n")
        wait_until(lambda: "fixed-now" in up.log_text(), timeout=60, what="the fixed Tiltfile to run")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_busy_first_evaluation_is_stopped_promptly_by_a_signal(tmp_path: Path, sig: int) -> None:
    key, value = _marker()
    tf = tmp_path / "Tiltfile"
    # Pure interpreter time: no local() to kill, nothing that checks for a stop but the budget.
    tf.write_text("x = 0\nfor i in range(1000000000):\n    for j in range(1000000000):\n        x += 1\n")
    up = Up(tf, tmp_path / "state", env={key: value})
    wait_until(lambda: _evaluating(value), what="the evaluation child")
    time.sleep(0.5)  # well inside the evaluation (a real stop can come at any moment)
    started = time.monotonic()
    assert up.stop(sig, timeout=15) == 0
    took = time.monotonic() - started
    assert took < 5, f"stopping took {took:.1f}s"
    wait_until(lambda: not marked_pids(value), timeout=10, what="every process gone")


def _evaluating(marker: str) -> bool:
    return any(b"child_main" in Path(f"/proc/{p}/cmdline").read_bytes()
               for p in marked_pids(marker) if Path(f"/proc/{p}").exists())


def test_down_stops_up_during_a_blocked_reload(tmp_path: Path) -> None:
    key, value = _marker()
    tf = tmp_path / "Tiltfile"
    tf.write_text(GOOD)
    up = Up(tf, tmp_path / "state", env={key: value})
    up.expect("lockstep: dashboard at ")
    wait_until(lambda: _pids_running(value, b"sleep"), what="the server to start")
    tf.write_text(GOOD + "local('sleep 120 & sleep 121')\n")
    wait_until(lambda: _pids_running(value, b"sleep\x00121"), what="the reload's local() to run")
    started = time.monotonic()
    down = subprocess.run([f"{VENV_BIN}/lockstep", "down", "-f", str(tf)], env=up.env, capture_output=True,
                          text=True, timeout=60)
    assert down.returncode == 0, down.stderr
    assert up.proc.wait(15) == 0
    up.out.close()
    assert time.monotonic() - started < 5
    wait_until(lambda: not marked_pids(value), timeout=10, what="every process gone, the local() sleeps too")


@pytest.mark.skipif(not Path("/proc/1/map_files").is_dir(), reason="needs /proc/1/map_files")
def test_watching_proc_1_warns_once_and_up_keeps_running(tmp_path: Path) -> None:
    tf = tmp_path / "Tiltfile"
    tf.write_text("local_resource('a', cmd='echo ran-a', deps=['/proc/1'])\n")
    with Up(tf, tmp_path / "state") as up:
        up.expect("watch: skipped ")
        up.expect("ran-a")
        assert up.proc.poll() is None
        assert "Traceback" not in up.log_text()
        assert up.log_text().count("unreadable director") == 1


def test_ctrl_c_stops_check_during_a_busy_evaluation(tmp_path: Path) -> None:
    key, value = _marker()
    tf = tmp_path / "Tiltfile"
    tf.write_text("x = 0\nfor i in range(1000000000):\n    for j in range(1000000000):\n        x += 1\n")
    check = subprocess.Popen([f"{VENV_BIN}/lockstep", "check", "-f", str(tf)], env={**os.environ, key: value},
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_until(lambda: _evaluating(value), what="the evaluation child")
    started = time.monotonic()
    check.send_signal(signal.SIGINT)
    _out, err = check.communicate(timeout=15)
    assert check.returncode == 130 and b"Traceback" not in err
    assert time.monotonic() - started < 5
    wait_until(lambda: not marked_pids(value), timeout=10, what="the evaluation child gone")


def test_down_stops_up_during_a_blocked_first_evaluation(tmp_path: Path) -> None:
    key, value = _marker()
    tf = tmp_path / "Tiltfile"
    tf.write_text("local('sleep 122')\nlocal_resource('a', cmd='true')\n")
    up = Up(tf, tmp_path / "state", env={key: value})
    wait_until(lambda: _pids_running(value, b"sleep\x00122"), what="the first evaluation's local() to run")
    started = time.monotonic()
    down = subprocess.run([f"{VENV_BIN}/lockstep", "down", "-f", str(tf)], env=up.env, capture_output=True,
                          text=True, timeout=60)
    assert down.returncode == 0, down.stderr
    assert up.proc.wait(15) == 0
    up.out.close()
    assert time.monotonic() - started < 5
    wait_until(lambda: not marked_pids(value), timeout=10, what="every process gone")


def _pid_alive(pid: int) -> bool:
    try:
        return not Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")
    except (OSError, IndexError):
        return False


def test_local_blocked_past_the_budget_is_stopped_in_process(tmp_path: Path) -> None:
    from lockstep.tiltfile import load

    tf = tmp_path / "Tiltfile"
    # A command waiting on stdin gets end-of-file at once; one that never ends is stopped.
    tf.write_text("print(local('cat', quiet=True) == '')\n"
                  "local('sleep 1001 & echo $! > child.pid; exec sleep 1000')\n")
    started = time.monotonic()
    r = load(str(tf), timeout=1.0)
    assert time.monotonic() - started < 10
    assert r.printed == ("True",)
    (err,) = r.errors
    assert "'sleep 1001 & echo $! > child.pid; exec sleep 1000' was still running" in err.message
    assert "1 s budget" in err.message and "LOCKSTEP_TILTFILE_TIMEOUT" in err.hint
    assert (err.location.line, err.location.col) == (2, 1)
    grandchild = int((tmp_path / "child.pid").read_text())
    wait_until(lambda: not _pid_alive(grandchild), timeout=10, what="the command's process group gone")


def test_local_blocked_past_the_budget_stops_the_evaluation_child(tmp_path: Path) -> None:
    from lockstep.tiltfile.isolate import Evaluator

    tf = tmp_path / "Tiltfile"
    tf.write_text("local_resource('a', cmd='true')\n"
                  "x = local('sleep 1003 & echo $! > child.pid; exec sleep 1002')\n")
    started = time.monotonic()
    r = Evaluator().load(str(tf), timeout=1.0)
    took = time.monotonic() - started
    assert took < 10, took
    (err,) = r.errors
    assert "command 'sleep 1003 & echo $! > child.pid; exec sleep 1002' was still running" in err.message
    assert err.location is not None and (err.location.file, err.location.line) == (str(tf), 2)
    assert "LOCKSTEP_TILTFILE_TIMEOUT" in err.hint
    grandchild = int((tmp_path / "child.pid").read_text())
    wait_until(lambda: not _pid_alive(grandchild), timeout=10, what="the command's process group gone")


def test_up_reports_a_blocked_reload_and_keeps_running(tmp_path: Path) -> None:
    key, value = _marker()
    tf = tmp_path / "Tiltfile"
    tf.write_text(GOOD)
    with Up(tf, tmp_path / "state", env={key: value, "LOCKSTEP_TILTFILE_TIMEOUT": "2"}) as up:
        wait_until(lambda: _pids_running(value, b"sleep"), what="the server to start")
        server = _pids_running(value, b"sleep")
        tf.write_text(GOOD + "local('sleep 1004')\n")
        up.expect("command 'sleep 1004' was still running", timeout=30)
        assert not _pids_running(value, b"sleep\x001004")
        assert _pids_running(value, b"sleep") == server and up.proc.poll() is None


def test_an_edit_restarts_a_slow_reload(tmp_path: Path) -> None:
    key, value = _marker()
    tf = tmp_path / "Tiltfile"
    tf.write_text(GOOD)
    with Up(tf, tmp_path / "state", env={key: value}) as up:
        wait_until(lambda: _pids_running(value, b"sleep"), what="the server to start")
        tf.write_text(GOOD + "local('sleep 1005')\n")
        wait_until(lambda: _pids_running(value, b"sleep\x001005"), what="the slow reload's local() to run")
        started = time.monotonic()
        tf.write_text(GOOD + "local_resource('after', cmd='echo fixed-now')\n")
        up.expect("fixed-now", timeout=30)
        # Well inside the 120 s budget: the edit stopped the slow evaluation at once.
        assert time.monotonic() - started < 15
        assert "restarting the evaluation" in up.log_text()
        wait_until(lambda: not _pids_running(value, b"sleep\x001005"), timeout=10, what="the slow local() gone")


def test_an_edit_restarts_a_slow_first_evaluation(tmp_path: Path) -> None:
    key, value = _marker()
    tf = tmp_path / "Tiltfile"
    tf.write_text("local('sleep 1006')\n" + GOOD)
    with Up(tf, tmp_path / "state", env={key: value}) as up:
        wait_until(lambda: _pids_running(value, b"sleep\x001006"), what="the first evaluation's local() to run")
        started = time.monotonic()
        tf.write_text(GOOD + "local_resource('after', cmd='echo fixed-first')\n")
        up.expect("fixed-first", timeout=30)
        assert time.monotonic() - started < 15
        assert "restarting the evaluation" in up.log_text()
        wait_until(lambda: not _pids_running(value, b"sleep\x001006"), timeout=10, what="the slow local() gone")
