"""SubprocessRunner against real processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import uuid

import pytest
from procscan import marked_pids
from upproc import wait_until

from lockstep.adapters import process
from lockstep.adapters.process import (
    MAX_LINE_BYTES,
    ProcessSpec,
    ProcessStartError,
    Stream,
    SubprocessRunner,
)
from lockstep.adapters.reaper import RUN_TAG_VAR, Reaper, group_alive

HELPER = os.path.join(os.path.dirname(__file__), "orphan_helper.py")


def _wait_exec(pid: int, name: str) -> None:
    """Wait until `pid` has finished exec'ing `name`, not merely begun.

    start() returns once the child exists; until its exec, /proc shows lockstep's own environment and
    descriptors. The kernel renames the task early in exec, *before* it closes the close-on-exec
    descriptors (the exec error pipe shows as fd 3 for that moment), and lays out the new environment
    last: under load a reader sees every step. So wait for the name and then for a non-empty
    environment (it reads empty while the new one is being built), never for a fixed time."""

    def comm() -> str:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()

    def environ() -> bytes:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return f.read()

    wait_until(lambda: comm() == name, timeout=10, what=f"pid {pid} to exec {name}")
    wait_until(lambda: environ() != b"", timeout=10, what=f"pid {pid} to finish exec'ing {name}")


def _fd_targets(pid: int) -> set[str]:
    """What `pid`'s open descriptors point at. Right after the exec the new program still opens and
    closes files of its own (the loader opens libc, setlocale the locale files, each briefly as fd 3),
    so a listed descriptor can be gone by the time it is read: that one was not inherited, since an
    inherited descriptor stays open for the life of the process."""
    targets = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(FileNotFoundError):
            targets.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
    return targets


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(asyncio.wait_for(coro, 30))


def collect() -> tuple[list[tuple[str, Stream]], object]:
    lines: list[tuple[str, Stream]] = []
    return lines, lambda text, stream: lines.append((text, stream))


def test_lines_and_exit_code() -> None:
    lines, sink = collect()

    async def main() -> int:
        h = await SubprocessRunner().start(
            ProcessSpec(
                ("sh", "-c", "echo one; echo two >&2; printf 'caf\\303\\251\\r\\n'; printf tail; exit 7"), "/"
            ),
            sink,  # type: ignore[arg-type]
        )
        return await h.wait()

    assert run(main()) == 7
    out = [t for t, s in lines if s is Stream.STDOUT]
    assert out == ["one", "café", "tail"]
    assert [t for t, s in lines if s is Stream.STDERR] == ["two"]


def test_env_overlay_cwd_and_stdin_is_devnull(tmp_path) -> None:  # type: ignore[no-untyped-def]
    lines, sink = collect()

    async def main() -> int:
        h = await SubprocessRunner().start(
            ProcessSpec(
                ("sh", "-c", 'echo "$FOO:$HOME"; pwd; cat; echo done'), str(tmp_path), env=(("FOO", "bar"),)
            ),
            sink,  # type: ignore[arg-type]
        )
        return await h.wait()

    assert run(main()) == 0
    assert [t for t, _ in lines] == [f"bar:{os.environ.get('HOME', '')}", str(tmp_path), "done"]


def test_long_lines_are_split() -> None:
    lines, sink = collect()
    n = MAX_LINE_BYTES * 2 + 10

    async def main() -> int:
        code = f"import sys; sys.stdout.write('x' * {n} + '\\nend\\n')"
        h = await SubprocessRunner().start(ProcessSpec((sys.executable, "-c", code), "/"), sink)  # type: ignore[arg-type]
        return await h.wait()

    assert run(main()) == 0
    texts = [t for t, _ in lines]
    assert [len(t) for t in texts] == [MAX_LINE_BYTES, MAX_LINE_BYTES, 10, 3]


def test_killed_by_signal_is_negative() -> None:
    async def main() -> int:
        h = await SubprocessRunner().start(ProcessSpec(("sh", "-c", "kill -9 $$"), "/"), lambda t, s: None)
        return await h.wait()

    assert run(main()) == -signal.SIGKILL


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (ProcessSpec(("no-such-command-xyz",), "/"), "command not found: no-such-command-xyz"),
        (ProcessSpec(("ls",), "/no/such/dir"), "directory does not exist: /no/such/dir"),
        (ProcessSpec((), "/"), "empty command"),
        (ProcessSpec(("/etc/passwd",), "/"), "permission denied: /etc/passwd"),
    ],
)
@pytest.mark.parametrize("watched", [False, True])
def test_start_errors(spec: ProcessSpec, message: str, watched: bool) -> None:
    """The same words through setpriv (checked before) and executed directly under the watchdog (the exec error)."""

    async def main() -> None:
        reaper = Reaper() if watched else None
        try:
            await SubprocessRunner(reaper).start(spec, lambda t, s: None)
        finally:
            if reaper is not None:
                reaper.close()

    with pytest.raises(ProcessStartError) as e:
        run(main())
    assert str(e.value) == message


def test_a_change_to_lockstep_environment_reaches_the_next_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """The copy of os.environ is reused between starts only while the environment is unchanged."""
    lines, sink = collect()

    async def main() -> None:
        runner = SubprocessRunner()
        for value in ("one", "two"):
            monkeypatch.setenv("LOCKSTEP_TEST_ENV", value)
            h = await runner.start(ProcessSpec(("sh", "-c", 'echo "$LOCKSTEP_TEST_ENV:$X"'), "/", env=(("X", value),)),
                                   sink)  # type: ignore[arg-type]
            assert await h.wait() == 0
        monkeypatch.delenv("LOCKSTEP_TEST_ENV")
        h = await runner.start(ProcessSpec(("sh", "-c", 'echo "${LOCKSTEP_TEST_ENV-unset}"'), "/"), sink)  # type: ignore[arg-type]
        assert await h.wait() == 0

    run(main())
    assert [t for t, _ in lines] == ["one:one", "two:two", "unset"]


def test_stop_kills_the_whole_group() -> None:
    marker = f"lockstep-test-{uuid.uuid4()}"

    async def main() -> int:
        h = await SubprocessRunner().start(
            ProcessSpec(("sh", "-c", "sleep 100 & sleep 100"), "/", env=(("LOCKSTEP_TEST_MARKER", marker),)),
            lambda t, s: None,
        )
        # Both sleeps exist before we stop (bounded wait on state).
        assert await asyncio.to_thread(wait_until, lambda: len(marked_pids(marker)) >= 3)
        code = await h.stop(grace=5.0)
        assert await h.stop() == code  # idempotent
        assert not group_alive(h.pid)
        return code

    assert run(main()) == -signal.SIGTERM
    assert marked_pids(marker) == set()


def test_stop_escalates_to_sigkill_after_grace() -> None:
    marker = f"lockstep-test-{uuid.uuid4()}"

    async def main() -> int:
        h = await SubprocessRunner().start(
            ProcessSpec(
                ("sh", "-c", "trap '' TERM; sleep 100 & sleep 100"),
                "/",
                env=(("LOCKSTEP_TEST_MARKER", marker),),
            ),
            lambda t, s: None,
        )
        assert await asyncio.to_thread(wait_until, lambda: len(marked_pids(marker)) >= 3)
        return await h.stop(grace=0.2)

    assert run(main()) == -signal.SIGKILL
    assert marked_pids(marker) == set()


def test_stop_after_leader_exit_kills_leftovers() -> None:
    marker = f"lockstep-test-{uuid.uuid4()}"

    async def main() -> int:
        # The leader exits at once, leaving a background sleep in its group
        # that holds stdout open.
        h = await SubprocessRunner().start(
            ProcessSpec(
                ("sh", "-c", "sleep 100 & echo started"), "/", env=(("LOCKSTEP_TEST_MARKER", marker),)
            ),
            lambda t, s: None,
        )
        assert await h.wait() == 0  # returns despite the open pipe
        assert len(marked_pids(marker)) == 1
        assert group_alive(h.pid)
        code = await h.stop(grace=5.0)
        assert not group_alive(h.pid)
        return code

    assert run(main()) == 0
    assert marked_pids(marker) == set()


def test_concurrent_stop_calls_share_one_stop() -> None:
    async def main() -> list[int]:
        h = await SubprocessRunner().start(ProcessSpec(("sleep", "100"), "/"), lambda t, s: None)
        return list(await asyncio.gather(h.stop(), h.stop(), h.stop()))

    assert run(main()) == [-signal.SIGTERM] * 3


def test_reaper_registration_follows_the_group() -> None:
    async def main() -> None:
        reaper = Reaper()
        sent: list[str] = []
        original = reaper._send
        released = asyncio.Event()

        def spy(msg: str) -> None:
            sent.append(msg)
            original(msg)
            if "-" in msg:
                released.set()

        reaper._send = spy  # type: ignore[method-assign]
        try:
            h = await SubprocessRunner(reaper).start(ProcessSpec(("true",), "/"), lambda t, s: None)
            await h.wait()
            # Messages go out together, a few milliseconds after they are posted.
            await asyncio.wait_for(released.wait(), 10)
            assert "".join(sent) == f"+{h.pid}\n-{h.pid}\n"
        finally:
            reaper.close()

    run(main())


@pytest.mark.parametrize("use_reaper", [True, False], ids=["reaper", "pdeathsig-only"])
def test_kill_9_of_lockstep_orphans_nothing(use_reaper: bool) -> None:
    """pdeathsig takes the direct child; only the reaper also takes its grandchildren."""
    marker = f"lockstep-test-{uuid.uuid4()}"
    helper = subprocess.Popen(
        [sys.executable, HELPER, marker, "1" if use_reaper else "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert helper.stdout is not None
        assert helper.stdout.readline().strip() == "ready"
        assert wait_until(lambda: len(marked_pids(marker)) >= 3)
        before = marked_pids(marker)
        helper.send_signal(signal.SIGKILL)
        helper.wait()
        if use_reaper:
            assert wait_until(lambda: not marked_pids(marker), timeout=15), marked_pids(marker)
        else:
            # Without the watchdog the `sh` dies (pdeathsig) but its sleeps survive:
            # the reason the reaper exists.
            assert wait_until(lambda: len(marked_pids(marker)) == len(before) - 1)
    finally:
        for pid in marked_pids(marker):
            os.kill(pid, signal.SIGKILL)


def test_reaper_pipe_is_not_inherited_by_children() -> None:
    """Only lockstep may hold the write end, or its death would not read as EOF."""

    async def main() -> None:
        reaper = Reaper()
        try:
            reaper.start()
            assert reaper._proc is not None and reaper._proc.stdin is not None
            pipe = f"pipe:[{os.fstat(reaper._proc.stdin.fileno()).st_ino}]"
            h = await SubprocessRunner(reaper).start(ProcessSpec(("sleep", "100"), "/"), lambda t, s: None)
            _wait_exec(h.pid, "sleep")
            targets = _fd_targets(h.pid)
            assert pipe not in targets
            await h.stop()
        finally:
            reaper.close()

    run(main())


def test_children_carry_the_run_tag() -> None:
    async def main() -> None:
        reaper = Reaper()
        try:
            h = await SubprocessRunner(reaper).start(ProcessSpec(("sleep", "100"), "/"), lambda t, s: None)
            # The command itself runs (exec'd directly while the watchdog runs), not a wrapper left behind.
            _wait_exec(h.pid, "sleep")

            def environ() -> list[bytes]:
                with open(f"/proc/{h.pid}/environ", "rb") as f:
                    return f.read().split(b"\0")

            assert f"{RUN_TAG_VAR}={reaper.tag}".encode() in environ()
            await h.stop()
        finally:
            reaper.close()

    run(main())


def test_with_a_live_watchdog_a_command_is_one_exec() -> None:
    """The watchdog takes the direct child too, so setpriv is only the fallback without one."""

    async def main() -> None:
        reaper = Reaper()
        try:
            h = await SubprocessRunner(reaper).start(ProcessSpec(("sleep", "100"), "/"), lambda t, s: None)
            assert reaper.watching
            assert process._wrap(("sleep", "1"), watched=True) == ["sleep", "1"]
            if process._SETPRIV is not None:
                assert process._wrap(("sleep", "1"), watched=False)[:2] == [process._SETPRIV, "--pdeathsig"]
            await h.stop()
        finally:
            reaper.close()
        assert not reaper.watching

    run(main())


def test_child_exits_are_seen_through_pidfds_without_a_thread_per_child() -> None:
    async def main() -> None:
        with process.pidfd_child_watcher():
            before = threading.active_count()
            handles = [await SubprocessRunner().start(ProcessSpec(("sleep", "0.2"), "/"), lambda t, s: None)
                       for _ in range(5)]
            during = threading.active_count()
            assert [await h.wait() for h in handles] == [0] * 5
        if sys.version_info < (3, 12) and hasattr(os, "pidfd_open"):
            assert during == before
        # The default watcher is back: a plain subprocess still works after.
        p = await asyncio.create_subprocess_exec("true")
        assert await p.wait() == 0

    run(main())
