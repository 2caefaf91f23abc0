"""`up --stream`/`ci` log lines: batched in short windows, the same text in the same order as line by line."""

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
        self.written: asyncio.Event | None = None

    def write(self, s: str) -> int:
        self.writes += 1
        if self.written is not None:
            self.written.set()
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
def test_batched_output_equals_line_by_line(bursts: list[list[tuple[str, str, LogLevel, float]]]) -> None:
    out = _Out()
    now = [0.0]
    logs = LogStore(None)
    logs.subscribe(StreamPrinter(out, names=lambda: ["api", "web"], window=0.001, clock=lambda: now[0]))
    appended: list[LogLine] = []

    async def run() -> None:
        out.written = asyncio.Event()
        for burst in bursts:
            now[0] += 1.0  # a quiet second since the last write
            writes = out.writes
            for resource, text, level, at in burst:
                appended.append(logs.append(resource, LogSource.BUILD, text, at, level))
            # The burst's first line at once, the others wait for the window's end.
            assert out.writes == writes + (1 if burst else 0)
            if len(burst) > 1:
                assert out.getvalue() == _reference(appended[:-len(burst) + 1], 12)
                out.written.clear()
                await asyncio.wait_for(out.written.wait(), 30)
                assert out.writes == writes + 2
            assert out.getvalue() == _reference(appended, 12)

    asyncio.run(run())


def test_without_a_loop_each_line_is_written_at_once() -> None:
    out = _Out()
    printer = StreamPrinter(out)
    printer(LogLine(1, "api", LogSource.BUILD, LogLevel.INFO, 0.0, "one"))
    assert out.getvalue().endswith("api          | one\n")


def test_announce_writes_the_waiting_lines_first(capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    async def run() -> None:
        printer = StreamPrinter(sys.stdout, window=60)
        for text in ("written at once", "the last log line"):
            printer(LogLine(1, "api", LogSource.BUILD, LogLevel.INFO, 0.0, text))
        terminal.announce("lockstep ci: success")

    asyncio.run(run())
    assert capsys.readouterr().out.splitlines()[-2:] == [
        f"{time.strftime('%H:%M:%S', time.localtime(0))} api          | the last log line", "lockstep ci: success",
    ]


def test_lines_of_the_last_turn_are_written_by_flush_printers() -> None:
    out = _Out()

    logs = LogStore(None)  # what keeps the printer, as the engine's store does
    logs.subscribe(StreamPrinter(out, window=60))

    async def run() -> None:
        for text in ("written at once", "logged as the loop stops"):
            logs.append("api", LogSource.BUILD, text, 0.0)
        assert out.writes == 1

    asyncio.run(run())  # no turn was left to write it in
    terminal.flush_printers()
    assert out.getvalue().endswith("| logged as the loop stops\n")


def test_a_flood_in_one_turn_is_written_in_bounded_pieces() -> None:
    out = _Out()

    printer = StreamPrinter(out, window=60)

    async def run() -> None:
        for i in range(3 * StreamPrinter._MAX_WAITING):
            printer(LogLine(i, "api", LogSource.RUNTIME, LogLevel.INFO, 0.0, str(i)))
        assert out.writes >= 3

    asyncio.run(run())
    printer.flush()
    assert [line.rsplit("| ", 1)[1] for line in out.getvalue().splitlines()] == [
        str(i) for i in range(3 * StreamPrinter._MAX_WAITING)
    ]
