"""Run a real `lockstep up` in a subprocess and wait on its recorded state."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from lockstep.engine.persist import load_inferred, read_history
from lockstep.model.update import UpdateRecord
from lockstep.statedir import state_dir

T = TypeVar("T")
VENV_BIN = os.path.dirname(sys.executable)


def wait_until(pred: Callable[[], T], timeout: float = 60.0, what: str = "condition", interval: float = 0.02) -> T:
    """Poll a condition on observable state until it holds, or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)



def wait_progressing(pred: Callable[[], T], progress: Callable[[], object], stall: float, limit: float,
                     what: str = "condition", interval: float = 0.1) -> T:
    """Poll `pred` until it holds, for as long as the work behind it visibly moves.

    For waits on a bounded amount of real work (builds, image pushes, container restarts) whose
    speed depends on what else the machine is doing: a fixed deadline either fails a loaded but
    healthy run or waits far too long on a hung one. `progress()` returns an observable measure
    of the work (lockstep's output so far, say); the wait fails when it has not changed for
    `stall` seconds (nothing is happening: waiting longer would not help), or after `limit`
    seconds in all (the work is bounded, so it cannot legitimately take longer).
    """
    start = time.monotonic()
    last, moved = progress(), start
    while True:
        value = pred()
        if value:
            return value
        now = time.monotonic()
        current = progress()
        if current != last:
            last, moved = current, now
        if now - moved > stall:
            raise AssertionError(f"no progress for {stall:.0f}s ({now - start:.0f}s in all) waiting for {what}")
        if now - start > limit:
            raise AssertionError(f"timed out after {limit:.0f}s (still progressing) waiting for {what}")
        time.sleep(interval)

class Up:
    def __init__(self, tiltfile: Path, state_root: Path, *extra: str, env: dict[str, str] | None = None):
        self.tiltfile = tiltfile
        self.env = {**os.environ, "LOCKSTEP_STATE_DIR": str(state_root), "PATH": f"{VENV_BIN}:{os.environ['PATH']}"}
        self.env.update(env or {})
        os.environ["LOCKSTEP_STATE_DIR"] = str(state_root)
        self.sdir = state_dir(tiltfile)
        self.out = open(tiltfile.parent / "up.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [f"{VENV_BIN}/lockstep", "up", "--stream", "--port", "0", "-f", str(tiltfile), *extra],
            cwd=tiltfile.parent, env=self.env, stdout=self.out, stderr=subprocess.STDOUT,
        )

    @classmethod
    def write(cls, directory: Path, tiltfile: str, *extra: str) -> Up:
        """Write `tiltfile` into directory, run `up` on it (state beside it), and wait for its API."""
        path = directory / "Tiltfile"
        path.write_text(tiltfile)
        up = cls(path, directory / "state", *extra)
        up.expect("lockstep: dashboard at ")  # the API answers from here on
        return up

    @property
    def dir(self) -> Path:
        return self.tiltfile.parent

    @property
    def url(self) -> str:
        """The dashboard's address, as `up` printed it."""
        return self.expect("lockstep: dashboard at ").split(" at ", 1)[1].strip()

    def expect(self, text: str, timeout: float = 20.0) -> str:
        """The first output line containing text, waiting for it to be printed."""
        def find() -> str | None:
            return next((line for line in self.log_text().splitlines() if text in line), None)
        found = wait_until(find, timeout, what=f"`lockstep up` to print {text!r}")
        assert found is not None
        return found

    def history(self) -> list[UpdateRecord]:
        return list(read_history(self.sdir))

    def inferred(self) -> frozenset[tuple[str, str]]:
        return load_inferred(self.sdir)

    def output_size(self) -> int:
        """How much lockstep has written so far: a measure of progress for wait_progressing."""
        return (self.tiltfile.parent / "up.log").stat().st_size

    def log_text(self) -> str:
        if not self.out.closed:
            self.out.flush()
        return (self.tiltfile.parent / "up.log").read_text()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"`lockstep up` did not stop within {timeout:.0f}s of signal {sig}") from None
        finally:
            self.out.close()

    def __enter__(self) -> Up:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.stop()
