"""Evaluate a Tiltfile in a child process bounded in memory and CPU time.

A Tiltfile is a program: a loop that allocates, or a string doubled forty times,
would otherwise grow lockstep itself until the kernel kills it (and every server
with it), and a Rust panic inside the interpreter would take `up` down. So each
evaluation runs in a fresh Python child with `RLIMIT_AS` (memory) and
`RLIMIT_CPU` (a backstop behind the interpreter's own time budget). Whatever way
the child dies becomes a Tiltfile error; the caller (the engine) keeps its last
good configuration and its servers.

The child is in its own process group, and the commands its `local()` calls run
stay in that group: killing the one group stops the evaluation and its commands
together (`cancel_all`, used when lockstep stops). A parent-death signal takes
the child down if lockstep is killed outright, and the run tag in its
environment lets the reaper find what it started.

The result crosses back pickled: `LoadResult` is frozen dataclasses, enums and
tuples, which pickle exactly. The request goes over stdin as JSON.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from lockstep.tiltfile.limits import (
    COMMAND_FIX,
    CPU_SLACK_SECS,
    DEFAULT_TIMEOUT,
    MEMORY_ENV,
    TIMEOUT_ENV,
    out_of_memory,
)

if TYPE_CHECKING:
    from lockstep.model.resource import LoadResult

# The parent never imports the loader: its Starlark builtins and YAML are the child's to pay for.
# Nor the model at the top: `up` and `ci` import this module to start the child, which
# starts that much sooner (results and errors import it where they are built).

# `Evaluator.load(timeout=CONFIGURED)`: the configured budget (see evaluation_timeout).
CONFIGURED = -1.0
# Seconds a child may run past its budget before it is stopped from outside: the
# interpreter's own check (which names the line) fires first when it can.
WALL_GRACE = 2.0

# Address space allowed to one evaluation. An interpreter with its builtins needs
# about 30 MB; real Tiltfiles, even ones rendering large charts, stay far below this.
DEFAULT_MEMORY_MB = 1024
_SETPRIV = shutil.which("setpriv") if sys.platform.startswith("linux") else None
_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The child starts with -S (no `site`: its .pth files cost 3-4 ms of every start) and is
# given the directories `site` found for this process instead, lockstep's own first.
_CHILD_CODE = ("import os, sys; sys.path[:0] = sys.argv[1].split(os.pathsep); "
               "from lockstep.tiltfile.evalchild import child_main; sys.exit(child_main())")


def memory_limit_mb() -> int:
    """The evaluation memory limit: LOCKSTEP_TILTFILE_MEMORY_MB, or the default."""
    raw = os.environ.get(MEMORY_ENV, "").strip()
    if not raw:
        return DEFAULT_MEMORY_MB
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 64:
        raise ValueError(f"{MEMORY_ENV}={raw!r}: expected a whole number of MiB, at least 64")
    return value


def evaluation_timeout() -> float:
    """The evaluation time budget: LOCKSTEP_TILTFILE_TIMEOUT (seconds), or the default."""
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise ValueError(f"{TIMEOUT_ENV}={raw!r}: expected a number of seconds above 0")
    return value


def main_path(path: str) -> str:
    main = os.path.abspath(path)
    return os.path.join(main, "Tiltfile") if os.path.isdir(main) else main


class Evaluator:
    """Runs evaluations in children; `cancel_all()` stops them for good (lockstep is stopping).

    With `warm=True` (for `up`, which evaluates again on every Tiltfile edit) a spare
    child is started ahead of time and waits, its imports done, for the next request:
    a reload then costs the evaluation, not an interpreter start (about 0.1 s). The
    first one starts at once (its imports overlap the caller's); the ones after an
    evaluation `refill_secs` later, so that they do not compete for the CPU with the
    first updates that evaluation starts."""

    def __init__(self, *, memory_mb: int | None = None, env: Mapping[str, str] | None = None,
                 warm: bool = False, refill_secs: float = 0.0) -> None:
        # A bad setting is reported by every evaluation, like a Tiltfile error, not raised.
        self._setting_error = ""
        try:
            self.memory_mb = memory_limit_mb() if memory_mb is None else memory_mb
        except ValueError as exc:
            self.memory_mb, self._setting_error = DEFAULT_MEMORY_MB, str(exc)
        try:
            self.timeout: float | None = evaluation_timeout()
        except ValueError as exc:
            self.timeout, self._setting_error = DEFAULT_TIMEOUT, self._setting_error or str(exc)
        self._env = {**os.environ, **(env or {})}
        self._superseded: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()
        self._children: set[subprocess.Popen[bytes]] = set()
        self._cancelled = False
        self._warm = warm
        self._refill_secs = refill_secs
        self._refill: threading.Timer | None = None
        self._spare: subprocess.Popen[bytes] | None = None
        # An evaluation asked for before its caller was ready to wait for it (ask_ahead): its
        # request, and the child already working on it.
        self._ahead: tuple[dict[str, object], subprocess.Popen[bytes]] | None = None
        self._start_spare()

    def _request(self, main: str, args: Sequence[str], dry_run: bool, subcommand: str,
                 timeout: float | None) -> dict[str, object]:
        return {"path": main, "args": list(args), "dry_run": dry_run, "subcommand": subcommand,
                "timeout": self.timeout if timeout == CONFIGURED else timeout, "memory_mb": self.memory_mb}

    def ask_ahead(self, path: str, args: Sequence[str] = (), *, subcommand: str = "up",
                  dry_run: bool = False) -> None:
        """Start now the evaluation that `load(path, args, subcommand=..., dry_run=...)` will ask for.

        `up` and `ci` call this before importing the engine: the child evaluates while they
        import (about 0.1 s) instead of after, and `load` then only collects the result. It is
        an evaluation like any other: in `_children` (a restart or `cancel_all` stops it), and
        bounded from the moment it is asked for. A `load` with another request stops it and
        evaluates afresh. Nothing is raised: a child that cannot be started or told is
        `load`'s to report."""
        if self._setting_error:
            return
        request = self._request(main_path(path), args, dry_run, subcommand, CONFIGURED)
        with self._lock:
            if self._cancelled or self._ahead is not None:
                return
            proc, self._spare = self._spare, None
            try:
                if proc is None or proc.poll() is not None:
                    proc = self._spawn()
                assert proc.stdin is not None
                # A few hundred bytes into an empty pipe: never blocks, whatever the child is doing.
                proc.stdin.write(json.dumps(request).encode())
                proc.stdin.close()
            except OSError:
                if proc is not None:
                    _kill_group(proc)
                    proc.wait()
                return
            proc.stdin = None  # told: communicate() must not write to it again
            self._children.add(proc)
            self._ahead = (request, proc)

    def load(self, path: str, args: Sequence[str] = (), *, dry_run: bool = False, subcommand: str = "up",
             timeout: float | None = CONFIGURED) -> LoadResult:
        """Like `loader.load`, in a bounded child. Never raises (but for KeyboardInterrupt).

        `timeout` (default: LOCKSTEP_TILTFILE_TIMEOUT, else 120 s) bounds the evaluation on
        the wall clock, commands included: a child still running `WALL_GRACE` seconds after
        it is stopped with its process group (the commands it runs are in that group)."""
        main = main_path(path)
        request = self._request(main, args, dry_run, subcommand, timeout)
        timeout = self.timeout if timeout == CONFIGURED else timeout
        if self._setting_error:
            return _failed(main, args, self._setting_error, f"fix or unset {MEMORY_ENV} and {TIMEOUT_ENV}")
        with self._lock:
            ahead, self._ahead = self._ahead, None
            if self._cancelled:
                return _failed(main, args, "Tiltfile evaluation cancelled: lockstep is stopping", "")
            if ahead is not None and ahead[0] == request:
                proc = ahead[1]  # already told, and in _children
            else:
                if ahead is not None:  # asked for something else: not this caller's result
                    self._children.discard(ahead[1])
                    _kill_group(ahead[1])
                spare, self._spare = self._spare, None
                try:
                    proc = spare if spare is not None and spare.poll() is None else self._spawn()
                except OSError as exc:
                    return _failed(main, args, f"cannot start the Tiltfile evaluation: {exc}",
                                   "check that lockstep's Python interpreter can still be run")
                self._children.add(proc)
        if ahead is not None and ahead[1] is not proc:
            ahead[1].communicate()  # killed above: reaped, and its pipes read to their end and closed
        timed_out = False
        try:
            try:
                out, err = proc.communicate(None if proc.stdin is None else json.dumps(request).encode(),
                                            timeout=None if timeout is None else timeout + WALL_GRACE)
            except subprocess.TimeoutExpired:
                # Blocked in a command (or anywhere the interpreter cannot check its budget).
                timed_out = True
                _kill_group(proc)
                try:
                    out, err = proc.communicate(timeout=5.0)
                except subprocess.TimeoutExpired as exc:
                    # Something that left the group still holds the pipes: do not wait for it.
                    out, err = b"", exc.stderr or b""
                    proc.wait()
        except BaseException:
            # Ctrl-C in `check`: the child is in its own process group, so it did not get the signal.
            _kill_group(proc)
            proc.wait()
            raise
        finally:
            with self._lock:
                self._children.discard(proc)
        self._start_spare_later()
        with self._lock:
            cancelled = self._cancelled
            superseded = proc in self._superseded
            self._superseded.discard(proc)
        if superseded:
            return _failed(main, args, "Tiltfile evaluation restarted: its files changed while it ran", "")
        if timed_out and timeout is not None:
            return _timed_out(main, args, err.decode("utf-8", "replace"), timeout)
        if proc.returncode == 0:
            from lockstep.model.resource import LoadResult

            try:
                result = pickle.loads(out)
            except Exception as exc:  # a torn result is a crash like any other
                return _failed(main, args, f"Tiltfile evaluation returned an unreadable result ({exc})",
                               "this is a lockstep bug; please report it with the Tiltfile")
            if isinstance(result, LoadResult):
                return result
        # Dead before handing back a result: whatever it left running goes with it.
        _kill_group(proc)
        if cancelled:
            return _failed(main, args, "Tiltfile evaluation cancelled: lockstep is stopping", "")
        return _death(main, args, proc.returncode, err.decode("utf-8", "replace"), self.memory_mb, timeout)

    def restart_running(self) -> None:
        """Stop the evaluations running now (not for good): each returns a result saying it
        was restarted, which the caller discards before evaluating again."""
        with self._lock:
            children = list(self._children)
            self._superseded.update(children)
        for proc in children:
            _kill_group(proc)

    def cancel_all(self) -> None:
        with self._lock:
            self._cancelled = True
            if self._refill is not None:
                self._refill.cancel()
            children = list(self._children)
            if self._spare is not None:
                children.append(self._spare)
                self._spare = None
        for proc in children:
            _kill_group(proc)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=1.0)  # reaped here, or by the thread that runs it

    def _start_spare_later(self) -> None:
        if self._refill_secs <= 0:
            self._start_spare()
            return
        with self._lock:
            if not self._warm or self._cancelled or self._spare is not None or self._refill is not None:
                return
            timer = self._refill = threading.Timer(self._refill_secs, self._refilled)
            timer.daemon = True
        timer.start()

    def _refilled(self) -> None:
        with self._lock:
            self._refill = None
        self._start_spare()

    def _start_spare(self) -> None:
        # A spare left over when lockstep exits reads EOF on stdin and exits; the
        # parent-death signal covers a lockstep that is killed.
        with self._lock:
            if self._warm and not self._cancelled and self._spare is None:
                with contextlib.suppress(OSError):
                    self._spare = self._spawn()

    def _spawn(self) -> subprocess.Popen[bytes]:
        paths = [_PACKAGE_ROOT, *(p for p in sys.path if p and p != _PACKAGE_ROOT and os.path.isabs(p))]
        argv = [sys.executable, "-S", "-c", _CHILD_CODE, os.pathsep.join(paths)]
        if _SETPRIV is not None:
            argv = [_SETPRIV, "--pdeathsig", "KILL", "--", *argv]
        # A process group of its own (not a session: it stays in the terminal's session,
        # but Ctrl-C there reaches lockstep's foreground group only; lockstep decides).
        return subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=self._env, process_group=0)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _failed(main: str, args: Sequence[str], message: str, hint: str) -> LoadResult:
    from lockstep.model.resource import Diagnostic, LoadResult, Severity

    # Only the Tiltfile is known: a dead child cannot say which line it was on. Watching it
    # means an edit retries the evaluation.
    return LoadResult(tiltfile=main, args=tuple(args), config_files=(main,),
                      errors=(Diagnostic(Severity.ERROR, message, None, hint),))


def _timed_out(main: str, args: Sequence[str], stderr: str, timeout: float) -> LoadResult:
    """The child ran past its budget: name the command it was running, if any, and where."""
    from lockstep.model.resource import Diagnostic, LoadResult, Severity, SourceLocation
    from lockstep.tiltfile import commands

    running: dict[str, str] | None = None
    for line in stderr.split("\n"):  # not splitlines(): the marker's \x1e is a line break to it
        if line.startswith(commands.MARKER):
            with contextlib.suppress(ValueError):
                record = json.loads(line[len(commands.MARKER):])
                running = None if record.get("done") else record
    if running is None:
        return _failed(main, args, f"{main}: Tiltfile evaluation took longer than its {timeout:g} s budget "
                       "and was stopped", f"look for an unbounded loop, or raise {TIMEOUT_ENV} (seconds)")
    file, _, rest = str(running.get("where", "")).rpartition(":")
    file, _, line = file.rpartition(":")
    location = SourceLocation(file, int(line), int(rest)) if file and line.isdigit() and rest.isdigit() else None
    message = f"command {running.get('running', '')!r} was still running when the Tiltfile " \
              f"evaluation's {timeout:g} s budget ran out; it was stopped with its process group"
    return LoadResult(tiltfile=main, args=tuple(args), config_files=(main, *([file] if location else [])),
                      errors=(Diagnostic(Severity.ERROR, message, location, COMMAND_FIX),))


def _death(main: str, args: Sequence[str], code: int, stderr: str, memory_mb: int,
           timeout: float | None) -> LoadResult:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    last = lines[-1] if lines else ""
    memory = ("memory allocation of" in stderr or "MemoryError" in stderr or "out of memory" in stderr
              or code == -signal.SIGABRT)
    if memory:
        return out_of_memory(main, args, memory_mb)
    if code == -signal.SIGXCPU and timeout is not None:
        return _failed(main, args, f"{main}: Tiltfile evaluation used more than {timeout + CPU_SLACK_SECS:.0f} s "
                       "of CPU and was stopped",
                       "look for an unbounded loop; lockstep bounds evaluation time")
    if code == -signal.SIGKILL:
        # Not lockstep's doing (that is reported as cancelled): most likely the kernel's OOM killer.
        return _failed(main, args, f"{main}: Tiltfile evaluation was killed (SIGKILL); the machine may be "
                       "out of memory", "look for a loop or a string/list that grows without bound, "
                       f"or lower {MEMORY_ENV}")
    what = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
    return _failed(main, args, f"{main}: Tiltfile evaluation crashed ({what})" + (f": {last}" if last else ""),
                   "this is a lockstep bug; please report it with the Tiltfile")
