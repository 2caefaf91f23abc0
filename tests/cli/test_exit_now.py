"""The process entry point ends without the interpreter's teardown, but loses nothing on the way."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# Block-buffered standard streams, as a plain `lockstep` run has them.
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}

_SCRIPT = """
import atexit, sys, threading, time
from lockstep.cli.main import exit_now
out = sys.argv[1]
atexit.register(lambda: open(out + ".atexit", "w").write("ran"))
go = threading.Event()
def late_writer():
    go.wait()
    time.sleep(0.05)  # still running when exit_now starts: only a join lets it finish
    open(out + ".thread", "w").write("done")
threading.Thread(target=late_writer).start()
threading.Thread(target=go.wait, daemon=True).start()  # a daemon is not waited for (it never ends)
sys.stdout.write("buffered, no newline")  # a pipe: block-buffered until flushed
go.set()
exit_now(3)
"""


def test_exit_now_joins_threads_runs_atexit_flushes_and_keeps_the_code(tmp_path: Path) -> None:
    out = tmp_path / "mark"
    proc = subprocess.run([sys.executable, "-c", _SCRIPT, str(out)], capture_output=True, text=True, timeout=60,
                          env=_ENV)
    assert proc.returncode == 3
    assert proc.stdout == "buffered, no newline"
    assert (tmp_path / "mark.atexit").read_text() == "ran"
    assert (tmp_path / "mark.thread").read_text() == "done"


def test_a_failed_flush_at_exit_is_status_120_as_the_interpreters_own_exit() -> None:
    # stdout is a pipe whose reader has gone by the time the buffered text is flushed.
    script = ("import sys\nfrom lockstep.cli.main import exit_now\n"
              "sys.stdout.write('x' * 10)\nsys.stdin.read()\nexit_now(0)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=_ENV)
    assert proc.stdout is not None and proc.stdin is not None
    proc.stdout.close()
    proc.stdin.close()
    assert proc.wait(60) == 120


def test_exit_now_ends_idle_pool_workers_as_the_interpreter_does() -> None:
    """A thread pool nobody shut down: its idle (non-daemon) worker is told to end, not waited for forever."""
    script = ("from concurrent.futures import ThreadPoolExecutor\nfrom lockstep.cli.main import exit_now\n"
              "pool = ThreadPoolExecutor(max_workers=1)\npool.submit(print, 'ran').result()\nexit_now(5)\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=_ENV)
    assert (proc.returncode, proc.stdout) == (5, "ran\n")


def test_under_a_profiler_the_entry_point_exits_the_ordinary_way(tmp_path: Path) -> None:
    """`python -m cProfile -o F -m lockstep.cli.main ...` (bench/scale_ci.py --profile) writes F at exit."""
    out = tmp_path / "run.prof"
    tf = tmp_path / "Tiltfile"
    tf.write_text("local_resource('a', cmd='true')\n")
    proc = subprocess.run([sys.executable, "-m", "cProfile", "-o", str(out), "-m", "lockstep.cli.main", "check",
                           "-f", str(tf)], capture_output=True, text=True, timeout=60, env=_ENV)
    assert proc.returncode == 0, proc.stderr
    assert out.stat().st_size > 0
