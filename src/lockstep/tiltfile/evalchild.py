"""The evaluation child's side (see tiltfile/isolate.py): a JSON request on stdin, the pickled
`LoadResult` on stdout, within memory and CPU limits it sets on itself.

A module of its own so that the child imports none of the parent's side (subprocess
handling, the PATH lookup of `setpriv`) before its loader.
"""

from __future__ import annotations

import json
import os
import pickle
import resource
import sys

from lockstep.tiltfile.limits import CPU_SLACK_SECS

_MIB = 1024 * 1024


def child_main() -> int:
    """Entry point of the evaluation child: JSON request on stdin, pickled LoadResult on stdout."""
    # Only the result may reach the parent's pipe: anything else printed goes to stderr.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    # Import first: a spare child does this before it is needed.
    from lockstep.tiltfile import commands
    from lockstep.tiltfile.loader import load

    raw = sys.stdin.buffer.read()
    if not raw:
        return 0  # a spare that was never used: lockstep is gone or done
    request = json.loads(raw)
    # With RUST_BACKTRACE set, the interpreter's out-of-memory panic allocates while
    # printing its backtrace and can deadlock instead of failing. unsetenv() changes the
    # process environment only, not os.environ: local() commands and os.getenv() in the
    # Tiltfile still see the user's value.
    for name in ("RUST_BACKTRACE", "RUST_LIB_BACKTRACE"):
        os.unsetenv(name)
    lift = _bound(request["memory_mb"], request["timeout"])
    commands.run_in_evaluation_child(lift)
    result = load(request["path"], request["args"], dry_run=request["dry_run"],
                  subcommand=request["subcommand"], timeout=request["timeout"], memory_mb=request["memory_mb"])
    data = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(data)
    out.close()
    sys.stderr.flush()
    # The parent waits for this process's pipes to close: skip the interpreter's
    # clean-up (about 10 ms of module teardown), there is nothing left to save.
    os._exit(0)


def _bound(memory_mb: int, timeout: float | None) -> _Lift:
    """Apply the limits to this process; the returned callable restores them (for commands)."""
    saved = {r: resource.getrlimit(r) for r in (resource.RLIMIT_AS, resource.RLIMIT_CPU, resource.RLIMIT_CORE)}
    # A child stopped by a limit (SIGABRT, SIGXCPU) must not leave a core file behind.
    resource.setrlimit(resource.RLIMIT_CORE, (0, saved[resource.RLIMIT_CORE][1]))
    _, as_hard = saved[resource.RLIMIT_AS]
    # Only the soft limit: the hard one stays, so that local() commands can be given back
    # what lockstep had (a build tool or a JVM must not inherit the evaluation's bound).
    resource.setrlimit(resource.RLIMIT_AS, (_within(memory_mb * _MIB, as_hard), as_hard))
    if timeout is not None:
        used = resource.getrusage(resource.RUSAGE_SELF)
        cpu = int(used.ru_utime + used.ru_stime + timeout + CPU_SLACK_SECS)
        _, cpu_hard = saved[resource.RLIMIT_CPU]
        resource.setrlimit(resource.RLIMIT_CPU, (_within(cpu, cpu_hard), cpu_hard))
    return _Lift(saved)


def _within(value: int, hard: int) -> int:
    return value if hard == resource.RLIM_INFINITY else min(value, hard)


class _Lift:
    """preexec_fn for commands: runs in the forked command before exec."""

    def __init__(self, saved: dict[int, tuple[int, int]]) -> None:
        self._saved = saved

    def __call__(self) -> None:
        for which, limits in self._saved.items():
            resource.setrlimit(which, limits)
