"""The live status table `up` shows on a TTY (rich): the statuses, holds and recent log lines."""

from __future__ import annotations

import time
from collections.abc import Sequence

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


def make_console() -> Console:
    return Console()
