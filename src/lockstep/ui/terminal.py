"""Terminal views: a live status table (rich, on a TTY) or streamed log lines."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import math
import os
import sys
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import TextIO

from rich.console import Console, Group
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from lockstep.engine.scheduler import Decision
from lockstep.logs.store import LogLevel, LogLine
from lockstep.store.state import EngineState
from lockstep.ui.printable import printable
from lockstep.ui.viewmodel import JSON, UpdateStatus, resource_view


def update_cell(view: JSON) -> str:
    """The UPDATE column: the dashboard's update status, with its reason when it waits or failed."""
    status = UpdateStatus(view["update_status"])
    if view["hold_text"] and status in (UpdateStatus.HELD, UpdateStatus.PENDING):
        return f"{status.value}: {view['hold_text']}"
    if status is UpdateStatus.ERROR and view["last"]:
        return f"{status.value}: {view['last']['error']}"
    if view["note"]:
        return f"{status.value}: {view['note']}"
    return status.value


def status_table(state: EngineState, decision: Decision) -> Table:
    """One row per resource, from the same resource views as the dashboard and `get`."""
    table = Table(expand=True, box=None, header_style="bold")
    table.add_column("RESOURCE")
    table.add_column("UPDATE")
    table.add_column("RUNTIME")
    table.add_column("LAST", justify="right")
    # Tiltfile order: stable while edges are learnt (the scheduler's order moves).
    for name, r in state.resources.items():
        s = state.statuses.get(name)
        if s is None:
            continue
        view = resource_view(r, s, tuple(decision.holds.get(name, ())))
        dur = view["last_duration"]
        runtime = view["runtime_status"] if view["has_runtime"] else ""
        table.add_row(printable(name), update_cell(view), runtime, "" if dur is None else f"{dur:.1f}s")
    if state.config_errors:
        table.caption = "Tiltfile error: " + state.config_errors[0].render()
    return table


def live_view(state: EngineState, decision: Decision, logs: Sequence[LogLine], height: int) -> Group:
    """The TTY view: the status table, then as many recent log lines as fit below it."""
    table = status_table(state, decision)
    room = max(3, height - len(state.resources) - 6)
    tail = Text(no_wrap=True, overflow="ellipsis")  # one screen line per log line
    rows = [(line, part) for line in logs for part in line.text.split("\n")]
    for line, part in rows[-room:]:
        stamp = time.strftime("%H:%M:%S", time.localtime(line.at))
        style = "red" if line.level is LogLevel.ERROR else ""
        # Every screen line carries its resource, the second line of a message too.
        tail.append(f"{stamp} ", style="dim")
        tail.append(f"{printable(line.resource):<16.16} ", style="cyan")
        tail.append(part[:400] + "\n", style=style)
    return Group(table, Rule("logs (lockstep logs -f for all)", style="dim"), tail)


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


def make_console() -> Console:
    return Console()
