"""How `up` and `ci` end: a reader that goes away (`lockstep up | head -1`), Ctrl-C, SIGTERM, SIGHUP."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
from upproc import VENV_BIN, wait_until

from lockstep.engine.persist import read_history
from lockstep.logs.lastrun import newest_run, read_run
from lockstep.statedir import state_dir

pytestmark = pytest.mark.e2e

TILTFILE = """
local_resource('build', cmd='echo built')
local_resource('web', serve_cmd='echo serving; exec sleep 600', resource_deps=['build'],
               links=['http://localhost:1/'])
"""


def _run_with_dead_stdout(tmp_path: Path, *argv: str) -> subprocess.Popen[str]:
    (tmp_path / "Tiltfile").write_text(TILTFILE)
    env = {**os.environ, "LOCKSTEP_STATE_DIR": str(tmp_path / "state")}
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody will ever read: every write to stdout fails
    try:
        return subprocess.Popen([f"{VENV_BIN}/lockstep", *argv, "--port", "0", "-f", str(tmp_path / "Tiltfile")],
                                cwd=tmp_path, env=env, stdout=write_end, stderr=subprocess.PIPE, text=True)
    finally:
        os.close(write_end)


def test_up_keeps_running_when_its_output_is_gone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCKSTEP_STATE_DIR", str(tmp_path / "state"))
    sdir = state_dir(tmp_path / "Tiltfile", create=False)
    proc = _run_with_dead_stdout(tmp_path, "up", "--stream")
    try:
        # It got past the dashboard URL and the link lines, and keeps working: both updates recorded.
        wait_until(lambda: {r.resource for r in read_history(sdir)} == {"build", "web"} or proc.poll() is not None,
                   30, "both updates recorded (or an early exit)")
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert (sdir / "api.json").exists()
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "Exception ignored" not in err, err


def test_ci_verdict_to_a_gone_reader_is_not_a_traceback(tmp_path: Path) -> None:
    proc = _run_with_dead_stdout(tmp_path, "ci", "--timeout", "60s")
    _, err = proc.communicate(timeout=90)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "Exception ignored" not in err, err


def _logged(sdir: Path, resource: str, text: str) -> bool:
    """`text` is in the resource's lines of the newest run log on disk."""
    run = newest_run(str(sdir / "logs"))
    return run is not None and any(x.text == text for x in read_run(run, [resource]))


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ci_stopped_before_its_verdict_is_not_a_success(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        sig: signal.Signals) -> None:
    """A CI runner cancelling `lockstep ci` (or Ctrl-C, or `down`) must not read as a pass."""
    monkeypatch.setenv("LOCKSTEP_STATE_DIR", str(tmp_path / "state"))
    (tmp_path / "Tiltfile").write_text("local_resource('long', cmd='echo started; sleep 600')\n")
    sdir = state_dir(tmp_path / "Tiltfile", create=False)
    proc = subprocess.Popen([f"{VENV_BIN}/lockstep", "ci", "--port", "0", "-f", str(tmp_path / "Tiltfile")],
                            cwd=tmp_path, env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    try:
        wait_until(lambda: _logged(sdir, "long", "started"), 30, "the long update to start")
    finally:
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 1, err
    assert "lockstep ci: stopped before every resource was up to date" in err and "Traceback" not in err


def test_a_closed_terminal_stops_up_gracefully(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGHUP (the terminal closed, the SSH session dropped) stops `up` like Ctrl-C: servers get
    SIGTERM and run their clean-up, and the state files of the run are removed."""
    monkeypatch.setenv("LOCKSTEP_STATE_DIR", str(tmp_path / "state"))
    (tmp_path / "Tiltfile").write_text(
        "local_resource('srv', serve_cmd='trap \"echo cleaned > cleaned.txt; exit 0\" TERM; "
        "echo serving; while true; do sleep 0.1; done')\n")
    sdir = state_dir(tmp_path / "Tiltfile", create=False)
    proc = subprocess.Popen([f"{VENV_BIN}/lockstep", "up", "--stream", "--port", "0", "-f", str(tmp_path / "Tiltfile")],
                            cwd=tmp_path, env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    try:
        wait_until(lambda: _logged(sdir, "srv", "serving"), 30, "the server to start")
    finally:
        proc.send_signal(signal.SIGHUP)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert (tmp_path / "cleaned.txt").read_text().strip() == "cleaned"
    assert not (sdir / "api.json").exists() and not (sdir / "up.json").exists()


def test_open_streams_do_not_hold_up_the_stop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A dashboard tab or `lockstep logs -f` is a WebSocket: Ctrl-C must not wait for it to go away."""
    import asyncio
    import json
    import time

    import aiohttp

    monkeypatch.setenv("LOCKSTEP_STATE_DIR", str(tmp_path / "state"))
    (tmp_path / "Tiltfile").write_text("local_resource('long', cmd='sleep 600')\n")
    sdir = state_dir(tmp_path / "Tiltfile", create=False)
    proc = subprocess.Popen([f"{VENV_BIN}/lockstep", "up", "--stream", "--port", "0", "-f", str(tmp_path / "Tiltfile")],
                            cwd=tmp_path, env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)

    async def connect_then_stop() -> tuple[float, str]:
        api = json.loads((sdir / "api.json").read_text())
        url = api["url"].replace("http://", "ws://") + f"api/stream?token={api['token']}&logs=none"
        async with aiohttp.ClientSession() as session:
            clients = [await session.ws_connect(url) for _ in range(3)]
            for ws in clients:  # each has its snapshot: the server holds three open streams
                assert json.loads((await ws.receive()).data)["type"] == "snapshot"
            t0 = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            await asyncio.get_running_loop().run_in_executor(None, proc.wait, 30)
            took = time.monotonic() - t0
            closed = await clients[0].receive(timeout=5)
            return took, closed.type.name

    try:
        wait_until(lambda: (sdir / "api.json").exists(), 30, "the API to be up")
        took, closed = asyncio.run(connect_then_stop())
    finally:
        if proc.poll() is None:
            proc.kill()
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert took < 5, f"`up` took {took:.1f}s to stop with streams open"
    assert closed in ("CLOSE", "CLOSING", "CLOSED")
