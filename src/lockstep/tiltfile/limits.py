"""Input limits of a Tiltfile evaluation, and a file reader that honours them.

Nothing an evaluation reads is trusted to be small or to end: `read_file('/dev/zero')`
would grow without limit and a FIFO would block for ever (and a blocked `read()` cannot
be interrupted). Tilt's Go `os.ReadFile` effectively reads regular files only, so
refusing anything else costs no real Tiltfile anything.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lockstep.model.resource import LoadResult
    from lockstep.tiltfile.args import TiltfileError

# The model and the loader's errors load where they are used: `up` and `ci` import this
# module (through tiltfile/isolate.py) before they start the evaluation child, so its
# imports delay that start.

# Interpreter time allowed for one evaluation (time in local()/helm is not counted).
DEFAULT_TIMEOUT = 120.0
# Environment variable overriding the evaluation memory limit (MiB), see `isolate`.
MEMORY_ENV = "LOCKSTEP_TILTFILE_MEMORY_MB"

MIB = 1024 * 1024
# Largest file read_file()/read_yaml()/load()/k8s_yaml() read, and largest stdout that
# local()/helm() return. Real inputs (generated YAML, charts) are far below this.
MAX_READ_BYTES = 64 * MIB
# Of a command's stderr only the tail is kept: it is only shown when the command fails.
STDERR_TAIL_BYTES = 64 * 1024


def _size_text(n: int) -> str:
    return f"{n // MIB} MiB" if n >= MIB else f"{n} bytes"


def read_text_file(path: str, what: str, limit: int | None = None) -> str:
    """The text of the regular file at `path`, at most `limit` bytes (default MAX_READ_BYTES).

    Raises TiltfileError for a non-regular file (FIFO, device, socket) or an oversized
    one, and OSError when the file cannot be opened (callers word that themselves)."""
    from lockstep.tiltfile.args import TiltfileError

    limit = MAX_READ_BYTES if limit is None else limit
    # O_NONBLOCK: opening a FIFO with no writer would otherwise block before fstat can
    # tell us what it is. It does not change how a regular file reads.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(21, "Is a directory", path)
        if not stat.S_ISREG(info.st_mode):
            raise TiltfileError(f"{what}: {path} is not a regular file ({_kind(info.st_mode)})",
                                hint="read a regular file; for a command's output use local()")
        os.set_blocking(fd, True)
        chunks: list[bytes] = []
        total = 0
        while total <= limit:
            chunk = os.read(fd, min(limit + 1 - total, 1 * MIB))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:
            raise TiltfileError(f"{what}: {path} is larger than the {_size_text(limit)} limit",
                                hint="read a smaller file, or split it into several files")
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)
    text = b"".join(chunks).decode("utf-8", errors="replace")
    # Universal newlines, as the text-mode reads this replaces did.
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a file"


def too_much_output(command: str, limit: int) -> TiltfileError:
    from lockstep.tiltfile.args import TiltfileError

    return TiltfileError(f"command {command!r} wrote more than the {_size_text(limit)} limit to stdout",
                         hint="write large output to a file and read_file() it, or filter it in the command")


# CPU seconds beyond the evaluation's time budget before the kernel stops the child:
# the interpreter's own check normally fires first, with the better message.
CPU_SLACK_SECS = 30
# Environment variable overriding the evaluation time budget (seconds).
TIMEOUT_ENV = "LOCKSTEP_TILTFILE_TIMEOUT"
# Why a command may run for ever, and what to do about it: said by every budget error.
COMMAND_FIX = ("make the command finish (it gets no input: one waiting on stdin reads end-of-file, one "
               "waiting on a terminal or a server never ends), run long work as a local_resource, "
               f"or raise {TIMEOUT_ENV} (seconds)")


def command_timed_out(what: str, command: str, timeout: float) -> TiltfileError:
    from lockstep.tiltfile.args import TiltfileError

    return TiltfileError(f"{what}: command {command!r} was still running when the Tiltfile evaluation's "
                         f"{timeout:g} s budget ran out; it was stopped with its process group",
                         hint=COMMAND_FIX)


def out_of_memory(main: str, args: Sequence[str], memory_mb: int | None) -> LoadResult:
    from lockstep.model.resource import Diagnostic, LoadResult, Severity

    limit = f" (limit {memory_mb} MiB)" if memory_mb else ""
    raise_it = f"; if the Tiltfile really needs more, raise {MEMORY_ENV}" if memory_mb else ""
    # A dead or failed allocation cannot say which line it was on; the file is watched so
    # that an edit retries the evaluation.
    return LoadResult(tiltfile=main, args=tuple(args), config_files=(main,), errors=(Diagnostic(
        Severity.ERROR, f"{main}: Tiltfile evaluation ran out of memory{limit} and was stopped", None,
        "look for a loop or a string/list that grows without bound" + raise_it),))
