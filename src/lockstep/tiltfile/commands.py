"""Commands run while a Tiltfile is evaluated (`local()`, helm, kustomize), cancellable.

Evaluation runs in a worker thread (or an evaluation child process, see
`isolate`); a thread cannot be cancelled, but its command can. In-process, each
command gets its own process group, and `cancel_all()` (called when lockstep
stops mid-evaluation) kills those groups and makes any further command of that
evaluation fail at once, so shutdown never waits for a slow `local()`. In an
evaluation child, commands stay in the child's group instead: killing that one
group stops the evaluation and its commands together.

What a command writes is read with a bound: stdout up to `MAX_READ_BYTES` (more
is an error, and the command is killed), stderr only its tail.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence

from lockstep.tiltfile import limits as _limits

_lock = threading.Lock()
_running: set[subprocess.Popen[bytes]] = set()
_cancelled = threading.Event()
# Set by an evaluation child: commands share its process group and run `_preexec`
# (which lifts the child's own resource limits) before exec.
_own_group = True
_preexec: Callable[[], None] | None = None


class CommandCancelled(Exception):
    """lockstep is stopping: the command was not run, or was killed."""


class CommandTimedOut(Exception):
    """The evaluation's time budget ran out while the command ran: it was killed."""


# An evaluation child tells its parent which command it is running (on stderr, which only
# the parent reads), so that a child stopped for running too long can be told which
# command was to blame, and where the Tiltfile ran it.
MARKER = "\x1elockstep-command "


def _announce(what: dict[str, object]) -> None:
    if not _own_group:
        sys.stderr.write(MARKER + json.dumps(what) + "\n")
        sys.stderr.flush()


def reset() -> None:
    """A new evaluation starts: commands may run again."""
    _cancelled.clear()


def run_in_evaluation_child(preexec: Callable[[], None]) -> None:
    global _own_group, _preexec
    _own_group = False
    _preexec = preexec


def cancel_all() -> None:
    _cancelled.set()
    with _lock:
        procs = list(_running)
    for proc in procs:
        _kill(proc)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if _own_group:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()


def run(argv: Sequence[str], *, cwd: str, env: Mapping[str, str], stdin: str | None = None,
        limit: int | None = None, deadline: float | None = None,
        where: str = "", shown: str = "") -> subprocess.CompletedProcess[str]:
    """Like subprocess.run(capture_output=True, text=True), in its own group; raises OSError
    when the program cannot start, CommandCancelled when lockstep is stopping,
    CommandTimedOut when it still runs at `deadline` (time.monotonic()), and TiltfileError
    when stdout exceeds `limit` bytes (default MAX_READ_BYTES). `shown` (the command as
    the user wrote it) and `where` (file:line:col of the call) go with the announcement
    an evaluation child makes to its parent."""
    limit = _limits.MAX_READ_BYTES if limit is None else limit
    if _cancelled.is_set():
        raise CommandCancelled()
    _announce({"running": shown or shlex.join(argv), "where": where})
    proc = subprocess.Popen(
        list(argv), cwd=cwd, env=dict(env), start_new_session=_own_group, preexec_fn=_preexec,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    with _lock:
        _running.add(proc)
    timer = None
    expired = threading.Event()
    if deadline is not None and _own_group:
        # In an evaluation child the command shares the child's process group: the parent
        # enforces the budget there, by stopping the whole group (see isolate).
        def expire() -> None:
            expired.set()
            _kill(proc)

        timer = threading.Timer(max(0.0, deadline - time.monotonic()), expire)
        timer.daemon = True
        timer.start()
    try:
        out, err, overflow = _communicate(proc, stdin.encode() if stdin is not None else None, limit)
    finally:
        if timer is not None:
            timer.cancel()
        with _lock:
            _running.discard(proc)
        _announce({"done": True})
    if _cancelled.is_set():
        raise CommandCancelled()
    if expired.is_set():
        raise CommandTimedOut()
    if overflow:
        raise _limits.too_much_output(" ".join(argv), limit)
    return subprocess.CompletedProcess(list(argv), proc.returncode, _text(out), _text(err))


def _text(raw: bytes) -> str:
    # Universal newlines, as subprocess's text mode gave before.
    return raw.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")


def _communicate(proc: subprocess.Popen[bytes], data: bytes | None, limit: int) -> tuple[bytes, bytes, bool]:
    """stdout (at most `limit` bytes), the tail of stderr, and whether stdout overflowed.

    Helper threads feed stdin and drain stderr, so that neither pipe can fill up
    and stall the command while this thread reads stdout."""
    assert proc.stdout is not None and proc.stderr is not None
    tail = bytearray()

    def drain_stderr() -> None:
        assert proc.stderr is not None
        with contextlib.suppress(OSError):
            while chunk := os.read(proc.stderr.fileno(), 65536):
                tail.extend(chunk)
                del tail[:-_limits.STDERR_TAIL_BYTES]

    def feed_stdin() -> None:
        assert proc.stdin is not None
        with contextlib.suppress(BrokenPipeError, OSError):
            proc.stdin.write(data or b"")
        with contextlib.suppress(BrokenPipeError, OSError):
            proc.stdin.close()

    helpers = [threading.Thread(target=drain_stderr, daemon=True)]
    if proc.stdin is not None:
        helpers.append(threading.Thread(target=feed_stdin, daemon=True))
    for t in helpers:
        t.start()
    out = bytearray()
    overflow = False
    while chunk := os.read(proc.stdout.fileno(), 1024 * 1024):
        out.extend(chunk)
        if len(out) > limit:
            # Stop the command: closing our end also ends every writer in its pipeline
            # (SIGPIPE), which matters where the command shares our process group.
            overflow = True
            _kill(proc)
            break
    proc.stdout.close()
    proc.wait()
    for t in helpers:
        # A grandchild that inherited stderr may keep it open: do not wait for it for ever.
        t.join(timeout=1.0)
    return bytes(out[:limit]), bytes(tail), overflow
