"""`lockstep up` against the engine's performance budget (issue: the engine).

- edit -> command start latency, minus the 200 ms quiet window (p50/p95);
- idle CPU (% of one core) and RSS of the whole `lockstep up` process with
  100,000 files under watched paths.
Prints one line per figure; the README's performance section quotes them.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VENV_BIN = os.path.dirname(sys.executable)
QUIET = 0.2


def wait_for(pred, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not (v := pred()):
        if time.monotonic() > deadline:
            raise TimeoutError
        time.sleep(0.001)
    return v


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        src = root / "src"
        for i in range(100):
            sub = src / f"d{i:03d}"
            sub.mkdir(parents=True)
            for j in range(1000):
                (sub / f"f{j:04d}.txt").write_text("x")
        (root / "Tiltfile").write_text(
            "local_resource('build', cmd='date +%s.%N >> started.txt', deps=['src'])\n"
        )
        env = {**os.environ, "LOCKSTEP_STATE_DIR": str(root / "state")}
        proc = subprocess.Popen([f"{VENV_BIN}/lockstep", "up", "--stream", "--port", "0", "-f", str(root / "Tiltfile")],
                                cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started = root / "started.txt"
        try:
            wait_for(lambda: started.exists() and started.read_text().count("\n") >= 1, 60)
            time.sleep(2.0)  # let start-up work (initial scan, first update) finish
            c0, t0 = cpu_seconds(proc.pid), time.monotonic()
            time.sleep(10.0)
            idle = (cpu_seconds(proc.pid) - c0) / (time.monotonic() - t0) * 100
            rss = rss_mb(proc.pid)
            latencies = []
            for k in range(40):
                before = started.read_text().count("\n")
                t_edit = time.time()
                (src / f"d{k % 100:03d}" / "f0000.txt").write_text(f"edit {k}")
                lines = wait_for(lambda b=before: (t := started.read_text().splitlines()) and len(t) > b and t, 10)
                latencies.append(float(lines[-1]) - t_edit - QUIET)
                time.sleep(0.3)  # next edit after the update finished
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
    lat = sorted(latencies)
    p50, p95 = statistics.median(lat) * 1000, lat[int(len(lat) * 0.95) - 1] * 1000
    print(f"edit -> cmd start beyond the {QUIET * 1000:.0f} ms quiet window: p50 {p50:.1f} ms, "
          f"p95 {p95:.1f} ms (n={len(lat)})")
    print(f"idle with 100,000 files under watched paths: {idle:.2f} % of a core, RSS {rss:.0f} MB")


if __name__ == "__main__":
    main()
