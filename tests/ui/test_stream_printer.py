"""`up --stream`/`ci` log lines: batched per turn of the event loop, the same text in the same order as line by line."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lockstep.logs.store import LogLevel, LogLine, LogSource, LogStore
from lockstep.ui import terminal
from lockstep.ui.printable import printable
from lockstep.ui.terminal import StreamPrinter


class _Out(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, s: str) -> int:
        self.writes += 1
        return super().write(s)


def _reference(lines: Iterable[LogLine], width: int) -> str:
    """Line by line, formatted afresh each time: what the batched printer must reproduce."""
    out = []
    for line in lines:
        stamp = time.strftime("%H:%M:%S", time.localtime(line.at))
        mark = "!" if line.level is LogLevel.ERROR else " "
        prefix = f"{stamp} {printable(line.resource):<{width}}{mark}| "
        out.extend(f"{prefix}{part}\n" for part in line.text.split("\n"))
    return "".join(out)


_LINE = st.tuples(
    st.sampled_from(["api", "web", "a-rather-long-resource-name", "bad\x1bname", "(Tiltfile)", "é"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12),
    st.sampled_from(list(LogLevel)),
    # Seconds that repeat, step on, go back (another clock) and carry fractions.
    st.sampled_from([0.0, 0.4, 0.999, 1.0, 59.5, 3600.25, 1_700_000_000.7, 1_700_000_001.2, -0.5]),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(_LINE, max_size=6), max_size=5))
def test_batched_output_equals_line_by_line(turns: list[list[tuple[str, str, LogLevel, float]]]) -> None:
    out = _Out()
    logs = LogStore(None)
    logs.subscribe(StreamPrinter(out, names=lambda: ["api", "web"]))
    appended: list[LogLine] = []

    async def run() -> None:
        for turn in turns:
            writes = out.writes
            for resource, text, level, at in turn:
                appended.append(logs.append(resource, LogSource.BUILD, text, at, level))
            assert out.writes == writes, "lines were written during the turn that logged them"
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            # The turn's lines are out, in one write.
            assert out.getvalue() == _reference(appended, 12)
            assert out.writes == writes + (1 if turn else 0)

    asyncio.run(run())


def test_without_a_loop_each_line_is_written_at_once() -> None:
    out = _Out()
    printer = StreamPrinter(out)
    printer(LogLine(1, "api", LogSource.BUILD, LogLevel.INFO, 0.0, "one"))
    assert out.getvalue().endswith("api          | one\n")


def test_announce_writes_the_waiting_lines_first(capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    async def run() -> None:
        printer = StreamPrinter(sys.stdout)
        printer(LogLine(1, "api", LogSource.BUILD, LogLevel.INFO, 0.0, "the last log line"))
        terminal.announce("lockstep ci: success")

    asyncio.run(run())
    assert capsys.readouterr().out.splitlines()[-2:] == [
        f"{time.strftime('%H:%M:%S', time.localtime(0))} api          | the last log line", "lockstep ci: success",
    ]


def test_lines_of_the_last_turn_are_written_by_flush_printers() -> None:
    out = _Out()

    async def run() -> None:
        StreamPrinter(out)(LogLine(1, "api", LogSource.BUILD, LogLevel.INFO, 0.0, "logged as the loop stops"))

    asyncio.run(run())  # no turn was left to write it in
    terminal.flush_printers()
    assert out.getvalue().endswith("| logged as the loop stops\n")


def test_a_flood_in_one_turn_is_written_in_bounded_pieces() -> None:
    out = _Out()

    async def run() -> None:
        printer = StreamPrinter(out)
        for i in range(3 * StreamPrinter._MAX_WAITING):
            printer(LogLine(i, "api", LogSource.RUNTIME, LogLevel.INFO, 0.0, str(i)))
        assert out.writes >= 2
        await asyncio.sleep(0)

    asyncio.run(run())
    assert [line.rsplit("| ", 1)[1] for line in out.getvalue().splitlines()] == [
        str(i) for i in range(3 * StreamPrinter._MAX_WAITING)
    ]
