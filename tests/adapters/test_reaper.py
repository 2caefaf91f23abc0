"""The watchdog: kills registered groups when lockstep's pipe hits EOF, only then."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable

import pytest
from procscan import marked_pids
from upproc import wait_until

from lockstep.adapters.reaper import RUN_TAG_VAR, Reaper, group_alive, kill_groups


def spawn_group(marker: str, script: str = "sleep 300 & sleep 300 & wait") -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["sh", "-c", script],
        start_new_session=True,
        env={**os.environ, "LOCKSTEP_TEST_MARKER": marker},
    )


def cleanup(marker: str, *procs: subprocess.Popen[bytes]) -> None:
    for pid in marked_pids(marker):
        os.kill(pid, signal.SIGKILL)
    for p in procs:
        p.wait()


def simulate_lockstep_death(reaper: Reaper) -> None:
    """Close our end of the pipe without saying `exit`: what the kernel does on kill -9."""
    proc = reaper._proc
    assert proc is not None and proc.stdin is not None
    proc.stdin.close()
    proc.wait(timeout=10)


def test_eof_kills_registered_groups_only() -> None:
    marker = f"lockstep-test-{uuid.uuid4()}"
    other = f"lockstep-test-{uuid.uuid4()}"
    reaper = Reaper()
    a, b = spawn_group(marker), spawn_group(other)
    try:
        assert wait_until(lambda: len(marked_pids(marker)) == 3 and len(marked_pids(other)) == 3)
        reaper.register(a.pid)
        reaper.register(b.pid)
        reaper.unregister(b.pid)
        simulate_lockstep_death(reaper)
        assert wait_until(lambda: not marked_pids(marker))
        assert len(marked_pids(other)) == 3
    finally:
        cleanup(marker, a)
        cleanup(other, b)


def test_clean_close_kills_nothing() -> None:
    marker = f"lockstep-test-{uuid.uuid4()}"
    reaper = Reaper()
    a = spawn_group(marker)
    try:
        assert wait_until(lambda: len(marked_pids(marker)) == 3)
        reaper.register(a.pid)
        watchdog = reaper.pid
        reaper.close()
        assert watchdog is not None
        # The watchdog has exited (close() waits for it) and left the group alone.
        assert not os.path.exists(f"/proc/{watchdog}") or _is_zombie(watchdog)
        assert len(marked_pids(marker)) == 3
        reaper.close()  # idempotent
        reaper.register(a.pid)  # after close: ignored, does not restart the watchdog
        assert reaper.pid is None
    finally:
        cleanup(marker, a)


def test_groups_that_already_exited_are_harmless() -> None:
    reaper = Reaper()
    p = subprocess.Popen(["true"], start_new_session=True)
    reaper.register(p.pid)
    p.wait()
    assert not group_alive(p.pid)
    simulate_lockstep_death(reaper)  # must not fail on ESRCH
    assert reaper._proc is not None and reaper._proc.returncode == 0


def test_term_ignoring_group_gets_sigkill() -> None:
    marker = f"lockstep-test-{uuid.uuid4()}"
    a = spawn_group(marker, "trap '' TERM; sleep 300 & sleep 300 & wait")
    try:
        assert wait_until(lambda: len(marked_pids(marker)) == 3)
        kill_groups([a.pid], grace=0.2)
        assert wait_until(lambda: not marked_pids(marker))
    finally:
        cleanup(marker, a)


def test_watchdog_is_in_its_own_session() -> None:
    reaper = Reaper()
    reaper.start()
    try:
        assert reaper.pid is not None
        assert os.getsid(reaper.pid) == reaper.pid
        assert os.getpgid(reaper.pid) != os.getpgid(0)
    finally:
        reaper.close()


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return True
    return stat[stat.rfind(b")") + 2 :].split()[0] == b"Z"


def test_eof_also_kills_unregistered_groups_carrying_the_run_tag() -> None:
    """A group started in the instant before lockstep died, before its registration."""
    marker = f"lockstep-test-{uuid.uuid4()}"
    reaper = Reaper()
    reaper.start()
    tagged = subprocess.Popen(
        ["sh", "-c", "sleep 300 & sleep 300 & wait"],
        start_new_session=True,
        env={**os.environ, "LOCKSTEP_TEST_MARKER": marker, RUN_TAG_VAR: reaper.tag},
    )
    other = f"lockstep-test-{uuid.uuid4()}"
    foreign = subprocess.Popen(
        ["sh", "-c", "sleep 300 & wait"],
        start_new_session=True,
        env={**os.environ, "LOCKSTEP_TEST_MARKER": other, RUN_TAG_VAR: "another-instance"},
    )
    try:
        assert wait_until(lambda: len(marked_pids(marker)) == 3 and len(marked_pids(other)) == 2)
        simulate_lockstep_death(reaper)
        assert wait_until(lambda: not marked_pids(marker))
        assert len(marked_pids(other)) == 2  # another instance's processes are not ours
    finally:
        cleanup(marker, tagged)
        cleanup(other, foreign)


def test_clean_close_sweeps_daemons_that_left_their_group() -> None:
    """A `cmd` that setsid's a daemon: stopping its group misses it; the close sweep does not."""
    marker = f"lockstep-test-{uuid.uuid4()}"
    other = f"lockstep-test-{uuid.uuid4()}"
    reaper = Reaper()
    reaper.start()
    launcher = subprocess.run(
        ["sh", "-c", "setsid -f sleep 300"],
        env={**os.environ, "LOCKSTEP_TEST_MARKER": marker, RUN_TAG_VAR: reaper.tag}, check=True,
    )
    foreign = spawn_group(other)
    try:
        assert launcher.returncode == 0
        assert wait_until(lambda: len(marked_pids(marker)) == 1 and len(marked_pids(other)) == 3)
        (daemon,) = marked_pids(marker)
        assert os.getsid(daemon) == daemon  # its own session: no group of ours holds it
        reaper.close()
        assert wait_until(lambda: not marked_pids(marker))
        assert len(marked_pids(other)) == 3  # untagged: not ours
    finally:
        cleanup(marker)
        cleanup(other, foreign)


def test_messages_of_one_loop_iteration_go_in_one_write() -> None:
    """Each write wakes the watchdog: starts and ends of one iteration share one."""
    import asyncio

    async def main() -> list[str]:
        reaper = Reaper(coalesce=0.0)
        sent: list[str] = []
        original = reaper._send

        def spy(msg: str) -> None:
            sent.append(msg)
            original(msg)

        reaper._send = spy  # type: ignore[method-assign]
        try:
            # Group ids no process can have (pid_max is below 2**22): the watchdog forgets them at once anyway.
            reaper.register(2**30)
            reaper.register(2**30 + 1)
            reaper.unregister(2**30)
            await asyncio.sleep(0)
            reaper.unregister(2**30 + 1)
            await asyncio.sleep(0)
        finally:
            reaper.close()
        return sent

    assert asyncio.run(main()) == [f"+{2**30}\n+{2**30 + 1}\n-{2**30}\n", f"-{2**30 + 1}\n"]


def test_by_default_messages_of_a_short_while_share_one_write() -> None:
    import asyncio

    async def main() -> list[str]:
        reaper = Reaper()
        sent: list[str] = []
        written = asyncio.get_running_loop().create_future()
        original = reaper._send

        def spy(msg: str) -> None:
            sent.append(msg)
            original(msg)
            if not written.done():
                written.set_result(None)

        reaper._send = spy  # type: ignore[method-assign]
        try:
            reaper.register(2**30)
            await asyncio.sleep(0)
            reaper.unregister(2**30)
            await asyncio.wait_for(written, 10)
        finally:
            reaper.close()
        return sent

    assert asyncio.run(main()) == [f"+{2**30}\n-{2**30}\n"]


class _Sleeps:
    """A fake sleep: records each pause; `then` runs instead of the wait (to wait on state)."""

    def __init__(self, then: Callable[[], object] = lambda: None) -> None:
        self.calls: list[float] = []
        self._then = then

    def __call__(self, secs: float) -> None:
        self.calls.append(secs)
        self._then()


def test_killing_no_live_group_does_not_wait() -> None:
    gone = subprocess.Popen(["true"], start_new_session=True)
    gone.wait()
    sleeps = _Sleeps()
    kill_groups([], sleep=sleeps)
    kill_groups([gone.pid], sleep=sleeps)
    assert sleeps.calls == []


def test_a_group_that_goes_at_sigterm_is_seen_gone_after_the_first_short_pause() -> None:
    marker = f"lockstep-test-{uuid.uuid4()}"
    a = spawn_group(marker, "sleep 300")
    try:
        assert wait_until(lambda: marked_pids(marker))
        # The pause waits for the group to be gone (state), standing in for the time it takes.
        sleeps = _Sleeps(then=lambda: wait_until(lambda: not group_alive(a.pid)))
        kill_groups([a.pid], sleep=sleeps)
        assert sleeps.calls in ([], [0.001])  # gone at once, or after 1 ms: not a fixed 50 ms poll
        assert a.wait(timeout=10) == -signal.SIGTERM
    finally:
        cleanup(marker, a)


def test_a_clean_close_with_nothing_left_never_sleeps(monkeypatch: pytest.MonkeyPatch) -> None:
    reaper = Reaper()
    reaper.start()
    assert reaper.watching

    def no_sleep(secs: float) -> None:
        raise AssertionError(f"slept {secs} s on a shutdown with nothing to wait for")

    # Popen.wait(timeout=) polls with time.sleep: the watchdog's exit is awaited on its pidfd.
    monkeypatch.setattr(time, "sleep", no_sleep)
    reaper.close()
    assert not reaper.watching


def test_a_close_in_two_steps_sweeps_first_and_leaves_no_watchdog() -> None:
    """begin_close sweeps and tells the watchdog to exit; wait_closed returns once it is reaped,
    with exit status 0 (it ends with os._exit: nothing of its own is lost by skipping teardown)."""
    marker = f"lockstep-test-{uuid.uuid4()}"
    reaper = Reaper()
    a = subprocess.Popen(["sh", "-c", "setsid sleep 300 & wait"],
                         env={**os.environ, "LOCKSTEP_TEST_MARKER": marker, RUN_TAG_VAR: reaper.tag})
    try:
        reaper.start()
        watchdog = reaper._proc
        assert watchdog is not None
        assert wait_until(lambda: len(marked_pids(marker)) == 2)
        reaper.begin_close()
        # The daemon that left its group is already gone: the sweep is the first step.
        assert wait_until(lambda: len(marked_pids(marker)) <= 1, timeout=5)
        reaper.wait_closed()
        assert watchdog.returncode == 0
        reaper.wait_closed()  # idempotent
    finally:
        cleanup(marker, a)
