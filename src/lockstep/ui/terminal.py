"""Streamed log lines and `up`/`ci`'s own words on the terminal.

The live status table (rich, for `up` on a TTY) is ui/live.py: rich and the view models
cost about 30 ms to import, which a streamed or `ci` run does not need to pay.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import math
import os
import sys
import time
import weakref
from collections.abc import Callable, Iterable
from typing import TextIO

from lockstep.logs.store import LogLevel, LogLine
from lockstep.ui.printable import printable


def announce(text: str) -> None:
    """Print one line of `up`/`ci`'s own output (the dashboard URL, links, the verdict).

    When the reader has gone (`lockstep up | head -1`), the run goes on without its output:
    the servers and the dashboard stay up, as they do for the log lines.
    """
    flush_printers()
    try:
        print(text, flush=True)
    except (BrokenPipeError, ValueError):
        _drop_stdout()


def _drop_stdout() -> None:
    # Point fd 1 at /dev/null: the interpreter's flush at exit would fail on the dead pipe again.
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


class StreamPrinter:
    """Prefixed, timestamped log lines (Tilt's `up --stream`).

    The prefix column is as wide as the longest resource name of the first
    loaded Tiltfile (`names`), fixed for the whole run so columns never shift.

    Lines are written in order, in batches: a line that comes `window` seconds
    or more after the last write is written at once; the lines that follow it
    within the window wait for one write (and one flush) at its end, so that a
    graph of `true` commands, a few lines per update and hundreds of updates a
    second, costs a write per window rather than a write, a flush and an event
    loop callback per line. With no loop running, each line is written at once.
    `flush()` writes what is waiting, and `announce()` does it for every printer
    first, so the run's own words come after its log lines.
    """

    # Lines waiting past this many are written at once (a flood must not wait in memory).
    _MAX_WAITING = 512

    def __init__(self, out: TextIO | None = None, names: Callable[[], Iterable[str]] | None = None,
                 window: float = 0.01, clock: Callable[[], float] = time.monotonic) -> None:
        self.out = out or sys.stdout
        self._window = window
        self._clock = clock
        self._last_write = -math.inf
        self.width = 12
        self._names = names
        self._fixed = names is None
        self._waiting: list[str] = []
        self._scheduled = False
        # The clock column changes once a second and the name column once per resource:
        # both are formatted once, not per line.
        self._second: int | None = None
        self._stamp = ""
        self._columns: dict[tuple[str, bool], str] = {}
        _printers.add(self)

    def _fit(self) -> None:
        assert self._names is not None
        known = [len(printable(n)) for n in self._names()]
        if known:
            self.width = min(32, max(self.width, len("(Tiltfile)"), *known))
            self._fixed = True
            self._columns.clear()

    def __call__(self, line: LogLine) -> None:
        if not self._fixed:
            self._fit()
        second = math.floor(line.at)  # localtime() drops the fraction the same way
        if second != self._second:
            self._stamp = time.strftime("%H:%M:%S", time.localtime(second))
            self._second = second
        error = line.level is LogLevel.ERROR
        column = self._columns.get((line.resource, error))
        if column is None:
            if len(self._columns) >= 4096:
                self._columns.clear()
            column = self._columns[line.resource, error] = (
                f"{printable(line.resource):<{self.width}}{'!' if error else ' '}| "
            )
        prefix = f"{self._stamp} {column}"
        text = line.text
        if "\n" in text:
            self._waiting.append("".join(f"{prefix}{part}\n" for part in text.split("\n")))
        else:
            self._waiting.append(f"{prefix}{text}\n")
        if self._scheduled:
            if len(self._waiting) >= self._MAX_WAITING:
                self.flush()
            return
        now = self._clock()
        wait = self._last_write + self._window - now
        if wait <= 0:
            self._last_write = now
            self.flush()
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        self._scheduled = True
        loop.call_later(wait, self._end_of_window)

    def _end_of_window(self) -> None:
        self._scheduled = False
        self._last_write = self._clock()
        self.flush()

    def flush(self) -> None:
        """Write the waiting lines now."""
        if not self._waiting:
            return
        data = "".join(self._waiting)
        self._waiting.clear()
        try:
            self.out.write(data)
            self.out.flush()
        except (BrokenPipeError, ValueError):
            if self.out is sys.stdout:
                _drop_stdout()


# Every printer, so that `announce` can write their waiting lines first.
_printers: weakref.WeakSet[StreamPrinter] = weakref.WeakSet()


def flush_printers() -> None:
    """Write every printer's waiting lines (before other output, and when the loop has stopped)."""
    for printer in list(_printers):
        printer.flush()


# A line logged in the loop's very last turn has no turn left to be written in.
atexit.register(flush_printers)
