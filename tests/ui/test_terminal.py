"""The terminal views: status table with hold reasons, and the log tail under it."""

from __future__ import annotations

import io

from engine_sim import config, loaded_action, local
from rich.console import Console

from lockstep.engine.scheduler import next_updates
from lockstep.logs.store import LogLevel, LogSource, LogStore
from lockstep.model.resource import TriggerMode
from lockstep.store import actions as A
from lockstep.store.reducers import reduce
from lockstep.store.state import EngineState
from lockstep.ui.live import live_view, status_table
from lockstep.ui.terminal import StreamPrinter


def test_live_view_shows_statuses_holds_and_recent_logs() -> None:
    s = reduce(EngineState(), loaded_action(config(local("gen"), local("build", ups=("gen",))), 0.0))
    s = reduce(s, A.UpdateStarted(1, "gen", 0.0))
    logs = LogStore(None)
    for i in range(30):
        logs.append("gen", LogSource.BUILD, f"line {i}", 1.0)
    logs.append("gen", LogSource.BUILD, "it broke", 2.0, LogLevel.ERROR)
    console = Console(file=io.StringIO(), width=120, record=True)
    console.print(live_view(s, next_updates(s), logs.tail(None, 50), height=20))
    text = console.export_text()
    # The dashboard's statuses, with the hold reason in words.
    assert "gen" in text and "in_progress" in text
    assert "held: waiting on gen" in text
    assert "it broke" in text and "line 29" in text
    assert "line 0\n" not in text  # only what fits under the table


def test_stream_printer_prefixes_resource_and_marks_errors() -> None:
    out = io.StringIO()
    logs = LogStore(None)
    logs.subscribe(StreamPrinter(out))
    logs.append("api", LogSource.RUNTIME, "listening", 0.0)
    logs.append("api", LogSource.RUNTIME, "crashed", 0.0, LogLevel.ERROR)
    lines = out.getvalue().splitlines()
    assert lines[0].endswith("api          | listening")
    assert lines[1].endswith("api         !| crashed")


def test_the_table_uses_the_dashboard_statuses_and_shows_failures() -> None:
    s = reduce(EngineState(), loaded_action(config(local("a"), local("b"), local("c", serve=True)), 0.0))
    s = reduce(reduce(s, A.UpdateStarted(1, "a", 0.0)), A.UpdateFinished(1, "a", False, 1.5, "cmd exited with code 2"))
    s = reduce(reduce(s, A.UpdateStarted(2, "c", 0.0)), A.UpdateFinished(2, "c", True, 0.5))
    s = reduce(s, A.SetEnabled("b", False, 2.0))
    console = Console(file=io.StringIO(), width=120, record=True)
    console.print(status_table(s, next_updates(s)))
    rows = {line.split()[0]: line for line in console.export_text().splitlines()[1:] if line.strip()}
    assert "error: cmd exited with code 2" in rows["a"] and "1.5s" in rows["a"]
    assert "disabled" in rows["b"]
    assert "ok" in rows["c"] and "starting" in rows["c"]


def test_every_line_of_a_multi_line_message_carries_the_prefix_at_a_fixed_width() -> None:
    out = io.StringIO()
    logs = LogStore(None)
    logs.subscribe(StreamPrinter(out, names=lambda: ["a-rather-long-name", "b"]))
    logs.append("(Tiltfile)", LogSource.SYSTEM, "a\nb", 0.0)
    logs.append("b", LogSource.BUILD, "one\ntwo", 0.0, LogLevel.ERROR)
    logs.append("a-much-much-longer-name-added-later", LogSource.BUILD, "x", 0.0)
    lines = out.getvalue().splitlines()
    assert [line[9:] for line in lines[:4]] == [
        "(Tiltfile)         | a", "(Tiltfile)         | b", "b                 !| one", "b                 !| two",
    ]
    # The column does not move for a name added later.
    assert lines[4][9:].startswith("a-much-much-longer-name-added-later | x")


def test_live_view_prefixes_every_line_and_shows_disabled_and_manual() -> None:
    res = (local("web", serve=True), local("m", trigger_mode=TriggerMode.MANUAL, auto_init=False))
    s = reduce(EngineState(), loaded_action(config(*res), 0.0))
    s = reduce(s, A.SetEnabled("web", False, 0.0))
    logs = LogStore(None)
    logs.append("web", LogSource.BUILD, "first\nsecond", 1.0)
    console = Console(file=io.StringIO(), width=120, record=True)
    console.print(live_view(s, next_updates(s), logs.tail(None, 50), height=20))
    text = console.export_text()
    assert "web              first" in text and "web              second" in text
    row = next(line for line in text.splitlines() if line.strip().startswith("web "))
    assert "disabled" in row and "pending" not in row
    assert "not started (manual)" in text


def test_a_name_with_control_characters_stays_one_label_on_one_line() -> None:
    """Tilt accepts `a\\nb` or an escape sequence as a resource name: shown escaped, never raw."""
    out = io.StringIO()
    logs = LogStore(None)
    names = ["a\nb", "\x1b[2Jclear"]
    logs.subscribe(StreamPrinter(out, names=lambda: names))
    logs.append("a\nb", LogSource.BUILD, "hello", 0.0)
    logs.append("\x1b[2Jclear", LogSource.BUILD, "there", 0.0)
    lines = out.getvalue().splitlines()
    assert [line[9:] for line in lines] == ["a\\nb         | hello", "\\x1b[2Jclear | there"]
    assert "\x1b" not in out.getvalue()
