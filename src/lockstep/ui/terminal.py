"""Terminal views: a live status table (rich, on a TTY) or streamed log lines."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import TextIO

from rich.console import Console, Group
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from lockstep.engine.scheduler import Decision
from lockstep.logs.store import LogLevel, LogLine
from lockstep.store.state import EngineState, ResourceState


def status_word(s: ResourceState, decision: Decision) -> str:
    if not s.enabled:
        return "disabled"
    if s.running is not None:
        return "updating"
    if s.name in decision.holds:
        return "; ".join(h.describe() for h in decision.holds[s.name])
    if s.pending:
        return "pending"
    if s.last is None:
        return "idle"
    if s.failed:
        return f"error: {s.last.error}"
    return "ok"


def status_table(state: EngineState, decision: Decision) -> Table:
    table = Table(expand=True, box=None, header_style="bold")
    table.add_column("RESOURCE")
    table.add_column("UPDATE")
    table.add_column("RUNTIME")
    table.add_column("LAST", justify="right")
    for name in state.topology.order:
        s = state.rs[name]
        last = s.last
        dur = f"{(last.end or last.start) - last.start:.1f}s" if last else ""
        table.add_row(name, status_word(s, decision), s.runtime.value, dur)
    if state.config_errors:
        table.caption = "Tiltfile error: " + state.config_errors[0].render()
    return table


def live_view(state: EngineState, decision: Decision, logs: Sequence[LogLine], height: int) -> Group:
    """The TTY view: the status table, then as many recent log lines as fit below it."""
    table = status_table(state, decision)
    room = max(3, height - len(state.resources) - 6)
    tail = Text(no_wrap=True, overflow="ellipsis")  # one screen line per log line
    for line in logs[-room:]:
        stamp = time.strftime("%H:%M:%S", time.localtime(line.at))
        style = "red" if line.level is LogLevel.ERROR else ""
        tail.append(f"{stamp} ", style="dim")
        tail.append(f"{line.resource:<16.16} ", style="cyan")
        tail.append(line.text[:400] + "\n", style=style)
    return Group(table, Rule("logs (lockstep logs -f for all)", style="dim"), tail)


class StreamPrinter:
    """Prefixed, timestamped log lines (Tilt's `up --stream`)."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self.width = 12

    def __call__(self, line: LogLine) -> None:
        self.width = min(32, max(self.width, len(line.resource)))
        stamp = time.strftime("%H:%M:%S", time.localtime(line.at))
        mark = "!" if line.level is LogLevel.ERROR else " "
        try:
            self.out.write(f"{stamp} {line.resource:<{self.width}}{mark}| {line.text}\n")
            self.out.flush()
        except (BrokenPipeError, ValueError):
            pass


def make_console() -> Console:
    return Console()
