"""A cmd/serve_cmd that setsid's a daemon: every kind of exit stops it, not only kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from pathlib import Path

import pytest
from procscan import marked_pids
from upproc import VENV_BIN, Up, wait_until

DAEMON = "setsid -f sleep 600"
TILTFILE = f"""
local_resource('launch', cmd='{DAEMON}')
local_resource('srv', serve_cmd='{DAEMON}; exec sleep 600')
"""


def _kill(marker: str) -> None:
    for pid in marked_pids(marker):
        os.kill(pid, signal.SIGKILL)


def _session_leaders(pids: set[int]) -> set[int]:
    """The pids that lead their own session; a pid may exit between the scan and the look-up."""
    leaders = set()
    for p in pids:
        try:
            if os.getsid(p) == p:
                leaders.add(p)
        except ProcessLookupError:
            continue
    return leaders


@pytest.mark.timeout(120)
@pytest.mark.parametrize("how", ["down", "ctrl-c"])
def test_up_stops_setsid_daemons_on_a_clean_exit(tmp_path: Path, how: str) -> None:
    marker = f"lockstep-test-{uuid.uuid4()}"
    (tmp_path / "Tiltfile").write_text(TILTFILE)
    up = Up(tmp_path / "Tiltfile", tmp_path / "state", env={"LOCKSTEP_TEST_MARKER": marker})
    try:
        # Two daemons (one per resource) in sessions of their own, plus the serve_cmd's sleep.
        wait_until(lambda: len(_session_leaders(marked_pids(marker))) == 2, 30, "two daemons")
        if how == "down":
            res = subprocess.run([f"{VENV_BIN}/lockstep", "down", "-f", str(up.tiltfile)], env=up.env,
                                 capture_output=True, text=True, timeout=60)
            assert res.returncode == 0, res.stdout + res.stderr
            assert up.proc.wait(30) == 0
        else:
            assert up.stop(signal.SIGINT) == 0
        wait_until(lambda: not marked_pids(marker), 10, "every process of the run to be gone")
    finally:
        up.stop()
        _kill(marker)


@pytest.mark.timeout(120)
def test_ci_stops_setsid_daemons_when_it_ends(tmp_path: Path) -> None:
    marker = f"lockstep-test-{uuid.uuid4()}"
    (tmp_path / "Tiltfile").write_text(f"local_resource('launch', cmd='{DAEMON}')\n")
    env = {**os.environ, "LOCKSTEP_STATE_DIR": str(tmp_path / "state"), "LOCKSTEP_TEST_MARKER": marker}
    try:
        res = subprocess.run([f"{VENV_BIN}/lockstep", "ci", "-f", str(tmp_path / "Tiltfile")], env=env,
                             capture_output=True, text=True, timeout=90, cwd=tmp_path)
        assert res.returncode == 0, res.stdout + res.stderr
        wait_until(lambda: not marked_pids(marker), 10, "the daemon to be gone")
    finally:
        _kill(marker)
