"""Run `lockstep up --stream --port 0` as a real subprocess and read its output."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path


class Up:
    def __init__(self, tmp: Path, tiltfile: str) -> None:
        self.dir = tmp
        self.tiltfile = tmp / "Tiltfile"
        self.tiltfile.write_text(tiltfile)
        self.env = {**os.environ, "LOCKSTEP_STATE_DIR": str(tmp / "state")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lockstep.cli.main", "up", "--stream", "--port", "0", "-f", str(self.tiltfile)],
            cwd=tmp, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        self.url = self.expect("lockstep: dashboard at ").split(" at ", 1)[1].strip()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def expect(self, text: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"`lockstep up` never printed {text!r}")
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if text in line:
                return line

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
