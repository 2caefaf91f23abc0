"""Commands run while a Tiltfile is evaluated (`local()`, helm, kustomize), cancellable.

Evaluation runs in a worker thread; a thread cannot be cancelled, but its
command can. Each command gets its own process group, and `cancel_all()`
(called when lockstep stops mid-evaluation) kills those groups and makes any
further command of that evaluation fail at once, so shutdown never waits for a
slow `local()`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Mapping, Sequence

_lock = threading.Lock()
_running: set[subprocess.Popen[str]] = set()
_cancelled = threading.Event()


class CommandCancelled(Exception):
    """lockstep is stopping: the command was not run, or was killed."""


def reset() -> None:
    """A new evaluation starts: commands may run again."""
    _cancelled.clear()


def cancel_all() -> None:
    _cancelled.set()
    with _lock:
        procs = list(_running)
    for proc in procs:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)


def run(argv: Sequence[str], *, cwd: str, env: Mapping[str, str], stdin: str | None = None
        ) -> subprocess.CompletedProcess[str]:
    """Like subprocess.run(capture_output=True, text=True), in its own group; raises OSError
    when the program cannot start, CommandCancelled when lockstep is stopping."""
    if _cancelled.is_set():
        raise CommandCancelled()
    proc = subprocess.Popen(
        list(argv), cwd=cwd, env=dict(env), text=True, start_new_session=True,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    with _lock:
        _running.add(proc)
    try:
        out, err = proc.communicate(input=stdin)
    finally:
        with _lock:
            _running.discard(proc)
    if _cancelled.is_set():
        raise CommandCancelled()
    return subprocess.CompletedProcess(list(argv), proc.returncode, out, err)
