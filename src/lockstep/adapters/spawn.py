"""Start one child process: fork + exec with its environment encoded once.

`subprocess.Popen` re-encodes the whole environment (two `os.fsencode` per
variable), re-joins PATH with the command, opens /dev/null and wraps each
pipe in a file object on every start: about 0.07 ms of Python per start,
half of the parent's CPU for a short command. Here the environment and the
exec candidates are encoded once while they are unchanged, and CPython's
own fork + exec primitive is called with descriptors lockstep owns (the
one `Popen` itself uses; on an interpreter whose signature is not known,
`Popen` is used instead, with the same results).

The child gets /dev/null as stdin, the given pipes as stdout and stderr, no
other descriptor (close_fds), a new session (so its own process group, whose
id is its pid) and `cwd` as its working directory. Exec errors come back as
the same exceptions `Popen` raises.

The fork + exec runs on the event loop's thread, which vfork suspends until the
child has exec'd (0.65 ms at the median inside `ci` on a loaded 2-core machine,
for 0.05 ms of CPU). CPython 3.11.7 releases the GIL during that wait, but a
helper thread doing the start was measured slower: it needs the GIL before and
after the vfork, which a busy loop hands over only at the switch interval, so
the start's latency doubled and the hand-offs cost more CPU than they saved
(docs/performance-profile.md, "The event loop per update").
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence

try:
    import _posixsubprocess
except ImportError:  # not POSIX
    _posixsubprocess = None  # type: ignore[assignment]

# Interpreters whose private `fork_exec` takes the 23 arguments used below.
DIRECT = _posixsubprocess is not None and (3, 11) <= sys.version_info[:2] <= (3, 13)
# Keep this many environments (one per distinct `env=` overlay) encoded.
_ENV_CACHE_MAX = 256


class Environments:
    """Encoded environments: `os.environ` overlaid with each spec's variables, cached while unchanged.

    Comparing os.environ's raw (bytes) mapping with the one last seen runs at C
    speed; only a change of it (or a new overlay) costs an encoding.
    """

    def __init__(self) -> None:
        self._raw: dict[bytes, bytes] | None = None
        self._base: dict[str, str] = {}
        self._encoded: dict[tuple[tuple[str, str], ...], tuple[list[bytes], dict[str, str]]] = {}

    def get(self, overlay: tuple[tuple[str, str], ...]) -> tuple[list[bytes], dict[str, str]]:
        """The encoded `KEY=value` list and the same environment as a dict (for PATH look-ups)."""
        raw: dict[bytes, bytes] | None = getattr(os.environ, "_data", None)
        if raw is None or raw != self._raw:
            # Not CPython's os.environ (raw is None): nothing to compare, so no caching.
            self._raw = dict(raw) if raw is not None else None
            self._base = dict(os.environ)
            self._encoded.clear()
        hit = self._encoded.get(overlay)
        if hit is None:
            env = {**self._base, **dict(overlay)}
            hit = (encode_env(env), env)
            if len(self._encoded) >= _ENV_CACHE_MAX:
                self._encoded.clear()
            if raw is not None:
                self._encoded[overlay] = hit
        return hit


def encode_env(env: dict[str, str]) -> list[bytes]:
    out = []
    for k, v in env.items():
        key = os.fsencode(k)
        if b"=" in key or not key:
            raise ValueError(f"illegal environment variable name: {k!r}")
        out.append(key + b"=" + os.fsencode(v))
    return out


def exec_candidates(argv0: str, env: dict[str, str]) -> tuple[bytes, ...]:
    """Where exec looks for `argv0`: itself if it names a path, else each PATH entry (as execvp does)."""
    exe = os.fsencode(argv0)
    if os.sep.encode() in exe:
        return (exe,)
    return tuple(os.path.join(os.fsencode(d), exe) for d in os.get_exec_path(env))


def spawn(
    argv: Sequence[str], exe: tuple[bytes, ...], cwd: str, env_list: list[bytes], env: dict[str, str],
    stdin: int, stdout: int, stderr: int,
) -> int:
    """Fork and exec; return the pid once the exec succeeded, or raise the exec's OSError."""
    if not DIRECT:
        return _popen(argv, cwd, env, stdin, stdout, stderr)
    # The event Popen raises, so that audit hooks see these starts too (free without hooks).
    sys.audit("subprocess.Popen", argv[0], list(argv), cwd, env)
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    try:
        try:
            pid = _posixsubprocess.fork_exec(
                argv, exe, True, (err_w,), cwd, env_list,
                stdin, -1, -1, stdout, -1, stderr, err_r, err_w,
                True, True, -1, None, None, None, -1, None, True,  # type: ignore[arg-type]
            )
        finally:
            os.close(err_w)
        # EOF as soon as the exec closed the (close-on-exec) write end.
        report = b""
        while chunk := os.read(err_r, 50000):
            report += chunk
            if len(report) > 50000:
                break
    finally:
        os.close(err_r)
    if report:
        os.waitpid(pid, 0)  # it never ran: reap it
        raise _exec_error(report, argv[0], cwd)
    return pid


def _exec_error(report: bytes, argv0: str, cwd: str) -> Exception:
    """The child's `ExceptionName:hex errno:detail` report as the exception `Popen` would raise."""
    try:
        name, hex_errno, detail = report.split(b":", 2)
        errno_num = int(hex_errno, 16)
    except ValueError:
        return subprocess.SubprocessError(f"bad exec report from child: {report!r}")
    if name != b"OSError" or errno_num == 0:
        return subprocess.SubprocessError(detail.decode(errors="replace"))
    # "noexec": the failure came before the exec, from chdir(cwd).
    filename = cwd if detail == b"noexec" else argv0
    return OSError(errno_num, os.strerror(errno_num), filename)


def _popen(argv: Sequence[str], cwd: str, env: dict[str, str], stdin: int, stdout: int, stderr: int) -> int:
    proc = subprocess.Popen(list(argv), cwd=cwd, env=env, stdin=stdin, stdout=stdout, stderr=stderr,
                            start_new_session=True, close_fds=True)
    # The caller reaps the child itself: mark it so that Popen's finalizer
    # neither warns nor keeps it on its list of processes to poll.
    proc.returncode = 0
    return proc.pid
