"""Stopping `lockstep up`: a first signal stops gracefully, a second one skips the graceful waits."""

from __future__ import annotations

import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from procscan import marked_pids
from upproc import VENV_BIN, Up, wait_until

pytestmark = pytest.mark.e2e

# Ignores SIGTERM (notes that it got one): only SIGKILL ends it, after the serve grace (5 s).
STUBBORN = """
local_resource('svc', serve_cmd='''sh -c 'trap "touch {dir}/got-term" TERM; echo up; while :; do sleep 0.05; done' ''')
"""


def test_a_second_signal_skips_the_graceful_waits(tmp_path: Path) -> None:
    marker = f"LOCKSTEP_TEST_MARKER={uuid.uuid4().hex}"
    key, value = marker.split("=")
    tf = tmp_path / "Tiltfile"
    tf.write_text(STUBBORN.format(dir=tmp_path))
    up = Up(tf, tmp_path / "state", env={key: value})
    try:
        up.expect("lockstep: dashboard at ")
        ready = subprocess.run([f"{VENV_BIN}/lockstep", "wait", "--for=condition=Ready", "svc", "-f", str(tf),
                                "--timeout", "30s"], env=up.env, capture_output=True, text=True, timeout=60)
        assert ready.returncode == 0, ready.stderr
        up.proc.send_signal(signal.SIGINT)
        wait_until(lambda: (tmp_path / "got-term").exists(), what="the serve process to get SIGTERM")
        assert up.proc.poll() is None  # still waiting out the grace period
        second = time.monotonic()
        up.proc.send_signal(signal.SIGINT)
        up.proc.wait(30)
        # Well within the 5 s grace the first signal would have waited for.
        assert time.monotonic() - second < 3.0
        assert "stopping now (second signal)" in up.log_text()
        wait_until(lambda: not marked_pids(marker), timeout=10, what="every process to be gone")
    finally:
        if up.proc.poll() is None:
            up.proc.kill()
            up.proc.wait()
        up.out.close()
