"""FakeProcessRunner: a plain function decides each run; the test decides when it ends."""

from __future__ import annotations

import asyncio

import pytest

from lockstep.adapters.fakes import FakeProcessRunner, FakeRun
from lockstep.adapters.process import ProcessSpec, ProcessStartError, Stream


def test_immediate_exit_with_lines() -> None:
    lines: list[tuple[str, Stream]] = []

    def behaviour(spec: ProcessSpec) -> FakeRun:
        return FakeRun(lines=["a", ("b", Stream.STDERR)], exit_code=2 if "fail" in spec.argv else 0)

    async def main() -> tuple[int, int]:
        runner = FakeProcessRunner(behaviour)
        ok = await runner.start(ProcessSpec(("make",), "/"), lambda t, s: lines.append((t, s)))
        bad = await runner.start(ProcessSpec(("make", "fail"), "/"), lambda t, s: None)
        assert [s.argv for s in runner.started] == [("make",), ("make", "fail")]
        assert runner.running() == []
        return await ok.wait(), await bad.wait()

    assert asyncio.run(main()) == (0, 2)
    assert lines == [("a", Stream.STDOUT), ("b", Stream.STDERR)]


def test_release_event_holds_the_run() -> None:
    async def main() -> None:
        release = asyncio.Event()
        runner = FakeProcessRunner(lambda spec: FakeRun(exit_code=3, release=release, exit_lines=["bye"]))
        seen: list[str] = []
        h = await runner.start(ProcessSpec(("serve",), "/"), lambda t, s: seen.append(t))
        waiter = asyncio.create_task(h.wait())
        await asyncio.sleep(0)
        assert not waiter.done() and runner.running() == [h]
        release.set()
        assert await waiter == 3
        assert seen == ["bye"]

    asyncio.run(main())


def test_stop_and_explicit_exit() -> None:
    async def main() -> None:
        runner = FakeProcessRunner(lambda spec: FakeRun(release=asyncio.Event()))
        a = await runner.start(ProcessSpec(("a",), "/"), lambda t, s: None)
        b = await runner.start(ProcessSpec(("b",), "/"), lambda t, s: None)
        assert await a.stop() == -15 and a.stopped
        assert await a.stop() == -15  # idempotent
        b.exit(9)
        assert await b.wait() == 9
        assert await b.stop() == 9  # already exited: its own code
        assert runner.running() == []

    asyncio.run(main())


def test_start_error() -> None:
    async def main() -> None:
        runner = FakeProcessRunner(lambda spec: FakeRun(start_error="command not found: x"))
        await runner.start(ProcessSpec(("x",), "/"), lambda t, s: None)

    with pytest.raises(ProcessStartError, match="command not found: x"):
        asyncio.run(main())
