"""Watching hostile trees: unreadable directories are skipped with one warning, the
first walk runs off the event loop, and a huge tree is reported with its size and time."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from watchkit import Collector, handshake, wait_for

from lockstep.watch import backend as wb

if not sys.platform.startswith("linux"):
    pytest.skip("inotify is Linux only", allow_module_level=True)

from lockstep.watch.inotify_backend import InotifyBackend

_real_scandir = os.scandir


class _Unlistable:
    """What os.scandir gives for /proc/1/map_files: it opens, but listing fails."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __enter__(self) -> _Unlistable:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def __iter__(self) -> Iterator[os.DirEntry[str]]:
        raise PermissionError(13, "Permission denied", self.path)


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """src/ (readable), locked/ (cannot be opened), unlistable/ (opens, cannot be listed)."""
    for d in ("src/sub", "locked/inner", "unlistable/inner"):
        (tmp_path / d).mkdir(parents=True)
        (tmp_path / d / "f.txt").write_text("x")

    def scandir(path: str) -> object:  # root bypasses permission bits: simulate them
        if os.path.basename(path) == "locked":
            raise PermissionError(13, "Permission denied", path)
        if os.path.basename(path) == "unlistable":
            return _Unlistable(path)
        return _real_scandir(path)

    monkeypatch.setattr(wb.os, "scandir", scandir)
    return tmp_path


def test_walk_skips_unreadable_directories_and_counts_them(tree: Path) -> None:
    stats = wb.WalkStats()
    seen = {os.path.relpath(p, tree) for p, _ in wb.walk(str(tree), lambda _d: False, stats)}
    assert {"src/sub/f.txt", "locked", "unlistable"} <= seen
    assert not any(p.startswith(("locked/", "unlistable/")) for p in seen)
    assert stats.unreadable == 2 and "Permission denied" in stats.first_unreadable
    warnings = wb.walk_warnings(stats, [str(tree)], 0.01)
    assert len(warnings) == 1
    assert warnings[0].startswith(f"watch: skipped 2 unreadable directories under {tree} (first: ")


def test_a_huge_or_slow_walk_is_reported_with_its_size_and_time(monkeypatch: pytest.MonkeyPatch) -> None:
    stats = wb.WalkStats(entries=1234567)
    assert wb.walk_warnings(stats, ["/"], 0.2) == [
        "watch: 1,234,567 files and directories under / took 0.2 s to scan; "
        "ignore what no build reads (ignore=, .tiltignore, watch_settings(ignore=))"]
    assert wb.walk_warnings(wb.WalkStats(entries=10), ["/a", "/b", "/c", "/d"], wb.SLOW_WALK_SECS)[0].startswith(
        "watch: 10 files and directories under /a, /b, /c and 1 more took")
    assert wb.walk_warnings(wb.WalkStats(entries=10), ["/a"], 0.1) == []


async def _run(backend: InotifyBackend, roots: list[str], ignored: wb.DirFilter,
               warnings: list[str]) -> tuple[asyncio.Task[None], Collector]:
    col = Collector()
    task = asyncio.create_task(backend.run(roots, ignored, col, warnings.append))
    return task, col


def test_inotify_skips_unreadable_directories_with_one_warning_and_watches_the_rest(tree: Path) -> None:
    async def main() -> None:
        warnings: list[str] = []
        backend = InotifyBackend()
        task, col = await _run(backend, [str(tree)], lambda _d: False, warnings)
        try:
            assert await wait_for(lambda: bool(warnings))
            await handshake(col, str(tree / "src" / "sub"))
            assert len(warnings) == 1 and "skipped 2 unreadable directories" in warnings[0]
            assert str(tree / "src" / "sub") in backend.watched_dirs()
            assert str(tree / "locked" / "inner") not in backend.watched_dirs()
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    asyncio.run(asyncio.wait_for(main(), 60))


def test_the_first_walk_runs_off_the_event_loop(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    release = threading.Event()
    walkers: list[threading.Thread] = []

    def ignored(d: str) -> bool:
        # Called during the walk: hold it here, as a walk of '/' would hold for seconds.
        walkers.append(threading.current_thread())
        release.wait(30)
        return False

    async def main() -> None:
        warnings: list[str] = []
        task, col = await _run(InotifyBackend(), [str(tmp_path)], ignored, warnings)
        try:
            assert await wait_for(lambda: bool(walkers))
            # The walk is blocked, and the loop still runs other work.
            ticks = 0
            for _ in range(5):
                await asyncio.sleep(0.01)
                ticks += 1
            assert ticks == 5 and not release.is_set()
            assert walkers[0] is not threading.main_thread()
            release.set()
            await handshake(col, str(tmp_path / "a" / "b"))
        finally:
            release.set()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    asyncio.run(asyncio.wait_for(main(), 60))


def test_cancelling_during_the_first_walk_stops_it(tmp_path: Path) -> None:
    for i in range(50):
        (tmp_path / f"d{i}").mkdir()
    entered = threading.Event()
    release = threading.Event()
    calls: list[str] = []

    def ignored(d: str) -> bool:
        calls.append(d)
        entered.set()
        release.wait(30)
        return False

    async def main() -> None:
        task, _col = await _run(InotifyBackend(), [str(tmp_path)], ignored, [])
        await asyncio.to_thread(entered.wait, 30)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        before = len(calls)
        release.set()
        # The thread notices the stop and ends; it does not walk the other 49 directories.
        await asyncio.sleep(0.2)
        assert len(calls) <= before + 1

    asyncio.run(asyncio.wait_for(main(), 60))


@pytest.mark.skipif(not os.path.isdir("/proc/1/map_files"), reason="needs /proc/1/map_files")
def test_watching_proc_1_does_not_crash_and_warns_once() -> None:
    async def main() -> None:
        warnings: list[str] = []
        task, _col = await _run(InotifyBackend(), ["/proc/1"], lambda _d: False, warnings)
        try:
            assert await wait_for(lambda: bool(warnings), timeout=30)
            await asyncio.sleep(0.05)
            assert not task.done()  # it used to die with PermissionError
            assert len([w for w in warnings if "unreadable" in w]) == 1
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    asyncio.run(asyncio.wait_for(main(), 60))
