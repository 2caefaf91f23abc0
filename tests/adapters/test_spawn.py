"""The lean start path: the direct fork + exec and its Popen fallback agree; no task per start."""

from __future__ import annotations

import asyncio
import os

import pytest

from lockstep.adapters import child, spawn
from lockstep.adapters.process import ProcessSpec, ProcessStartError, Stream, SubprocessRunner
from lockstep.adapters.reaper import Reaper


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(asyncio.wait_for(coro, 30))


@pytest.fixture(params=[True, False], ids=["direct", "popen"])
def direct(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    if request.param and not spawn.DIRECT:
        pytest.skip("this interpreter has no known fork_exec signature")
    monkeypatch.setattr(spawn, "DIRECT", request.param)
    return bool(request.param)


def test_both_start_paths_run_the_same_command(direct: bool, tmp_path) -> None:  # type: ignore[no-untyped-def]
    lines: list[tuple[str, Stream]] = []

    async def main() -> int:
        with Reaper() as reaper:
            h = await SubprocessRunner(reaper).start(
                ProcessSpec(("sh", "-c", 'echo "$A"; pwd >&2; echo "stdin:$(cat)"; exit 3'), str(tmp_path),
                            env=(("A", "é"),)),
                lambda t, s: lines.append((t, s)))
            # Its own session and process group, led by itself.
            assert os.getpgid(h.pid) == h.pid and os.getsid(h.pid) == h.pid
            return await h.wait()

    assert run(main()) == 3
    assert [t for t, s in lines if s is Stream.STDOUT] == ["é", "stdin:"]
    assert [t for t, s in lines if s is Stream.STDERR] == [str(tmp_path)]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (ProcessSpec(("no-such-command-xyz",), "/"), "command not found: no-such-command-xyz"),
        (ProcessSpec(("./no-such-file",), "/"), "command not found: ./no-such-file"),
        (ProcessSpec(("/etc/passwd",), "/"), "permission denied: /etc/passwd"),
        (ProcessSpec(("true",), "/", env=(("BAD=NAME", "x"),)), "cannot start true: illegal environment variable "
         "name: 'BAD=NAME'"),
        (ProcessSpec(("true",), "/", env=(("X", "nul\0byte"),)), "cannot start true: embedded null byte"),
    ],
)
def test_both_start_paths_report_the_same_errors(direct: bool, spec: ProcessSpec, message: str) -> None:
    async def main() -> None:
        with Reaper() as reaper:
            assert reaper.watching  # executed directly: the exec error itself is what is reported
            await SubprocessRunner(reaper).start(spec, lambda t, s: None)

    with pytest.raises(ProcessStartError) as e:
        run(main())
    assert str(e.value) == message


def test_start_wait_and_a_finished_stop_create_no_task() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        created: list[str] = []

        def factory(loop: asyncio.AbstractEventLoop, coro, **kw):  # type: ignore[no-untyped-def]
            created.append(getattr(coro, "__qualname__", repr(coro)))
            return asyncio.Task(coro, loop=loop, **kw)

        loop.set_task_factory(factory)
        runner = SubprocessRunner()
        for _ in range(3):
            h = await runner.start(ProcessSpec(("sh", "-c", "echo hi"), "/"), lambda t, s: None)
            assert await h.wait() == 0
            assert await h.stop() == 0
        assert created == []

    run(main())


def test_a_cancelled_wait_leaves_the_other_waiters_and_the_exit_code() -> None:
    async def main() -> None:
        h = await SubprocessRunner().start(ProcessSpec(("sleep", "0.3"), "/"), lambda t, s: None)
        first = asyncio.ensure_future(h.wait())
        second = asyncio.ensure_future(h.wait())
        await asyncio.sleep(0)
        first.cancel()
        assert await second == 0
        assert first.cancelled()
        assert await h.wait() == 0 and await h.stop() == 0

    run(main())


def test_descriptors_are_closed_after_the_process_is_done() -> None:
    def fds() -> set[str]:
        return set(os.listdir("/proc/self/fd"))

    async def main() -> None:
        runner = SubprocessRunner()
        await (await runner.start(ProcessSpec(("true",), "/"), lambda t, s: None)).wait()  # /dev/null, once
        before = fds()
        for argv in (("true",), ("sh", "-c", "echo out; echo err >&2"), ("sleep", "100")):
            h = await runner.start(ProcessSpec(argv, "/"), lambda t, s: None)
            await h.stop(grace=1.0)
        with pytest.raises(ProcessStartError):
            await runner.start(ProcessSpec(("no-such-command-xyz",), "/"), lambda t, s: None)
        assert fds() == before

    run(main())


def test_without_pidfds_a_thread_waits_for_the_child(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_pidfd(pid: int, flags: int = 0) -> int:
        raise OSError(38, "Function not implemented")

    monkeypatch.setattr(os, "pidfd_open", no_pidfd)
    lines: list[str] = []

    async def main() -> tuple[int, int]:
        runner = SubprocessRunner()
        h = await runner.start(ProcessSpec(("sh", "-c", "echo done; exit 4"), "/"), lambda t, s: lines.append(t))
        code = await h.wait()
        h2 = await runner.start(ProcessSpec(("sleep", "100"), "/"), lambda t, s: None)
        return code, await h2.stop(grace=1.0)

    assert run(main()) == (4, -15)
    assert lines == ["done"]


def test_wait_delivers_what_a_grandchild_writes_within_the_drain_timeout() -> None:
    lines: list[str] = []

    async def main() -> int:
        h = await SubprocessRunner().start(
            ProcessSpec(("sh", "-c", "(sleep 0.1; echo late; echo err >&2) & echo early"), "/"),
            lambda t, s: lines.append(t))
        code = await h.wait()
        # The leader exited first; its pipes reached EOF only when the grandchild did.
        assert sorted(lines) == ["early", "err", "late"]
        return code

    assert run(main()) == 0


def test_a_running_command_s_lines_arrive_before_it_exits() -> None:
    # Its pipes enter the selector once it has lived WATCH_PIPES_AFTER: a line printed at
    # the start of a long-running command is delivered while it runs, not at its exit.
    got = []

    async def main() -> int:
        first = asyncio.get_running_loop().create_future()

        def sink(text: str, stream: Stream) -> None:
            got.append((text, stream))
            if not first.done():
                first.set_result(None)

        h = await SubprocessRunner().start(
            ProcessSpec(("sh", "-c", "echo up; echo warn >&2; exec sleep 100"), "/"), sink)
        await first
        assert h.returncode is None  # still running
        return await h.stop(grace=1.0)

    assert run(main()) == -15
    assert sorted(got) == [("up", Stream.STDOUT), ("warn", Stream.STDERR)]


def test_a_short_command_s_pipes_never_enter_the_selector(monkeypatch: pytest.MonkeyPatch) -> None:
    # Its output is read at its exit: no reader is added or removed for its pipes, only its pidfd.
    # (A delay no loaded machine reaches: the command is short by definition here.)
    monkeypatch.setattr(child, "WATCH_PIPES_AFTER", 60.0)
    registered: list[int] = []
    lines: list[str] = []

    async def main() -> int:
        loop = asyncio.get_running_loop()
        add = loop.add_reader

        def counting_add(fd, cb, *args):  # type: ignore[no-untyped-def]
            registered.append(fd)
            return add(fd, cb, *args)

        loop.add_reader = counting_add  # type: ignore[method-assign]
        h = await SubprocessRunner().start(ProcessSpec(("sh", "-c", "echo out; echo err >&2; exit 2"), "/"),
                                           lambda t, s: lines.append(t))
        return await h.wait()

    assert run(main()) == 2
    assert sorted(lines) == ["err", "out"]
    assert len(registered) == 1  # the pidfd
