"""inotify-specific behaviour: which directories hold watches, moves, overflow."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys

import pytest
from watchkit import handshake, wait_for, watching

if not sys.platform.startswith("linux"):
    pytest.skip("inotify is Linux only", allow_module_level=True)

from lockstep.watch.inotify_backend import InotifyBackend


def write(path: str, text: str = "x") -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def run(coro_fn) -> None:  # type: ignore[no-untyped-def]
    asyncio.run(asyncio.wait_for(coro_fn(), 60))


def ignored(d: str) -> bool:
    return os.path.basename(d) in ("node_modules", ".git")


def test_ignored_directories_get_no_watch(tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = str(tmp_path)
    write(f"{root}/src/a.py")
    write(f"{root}/node_modules/react/lib/index.js")
    write(f"{root}/.git/objects/ab/cd")
    backend = InotifyBackend()

    async def main() -> None:
        async with watching(backend, [root], ignored) as col:
            await handshake(col, root)
            assert backend.watched_dirs() == {root, f"{root}/src"}
            # A new ignored directory at run time: reported (it appeared), not entered.
            write(f"{root}/src/node_modules/x/y.js")
            write(f"{root}/src/b.py")
            assert await wait_for(lambda: f"{root}/src/b.py" in col.paths)
            assert f"{root}/src/node_modules" in col.paths
            assert not any(p.startswith(f"{root}/src/node_modules/") for p in col.paths)
            assert backend.watched_dirs() == {root, f"{root}/src"}

    run(main)


def test_only_roots_and_lookouts_are_watched(tmp_path) -> None:  # type: ignore[no-untyped-def]
    write(str(tmp_path / "big" / "unrelated" / "f"))
    write(str(tmp_path / "proj" / "web" / "app.js"))
    write(str(tmp_path / "proj" / "Tiltfile"))
    backend = InotifyBackend()
    proj = tmp_path / "proj"
    roots = [str(proj / "web"), str(proj / "Tiltfile"), str(proj / "gen" / "out")]

    async def main() -> None:
        async with watching(backend, roots) as col:
            await handshake(col, roots[0])
            # The file root and the missing root share a lookout: their parent / nearest ancestor.
            assert backend.watched_dirs() == {roots[0], str(tmp_path / "proj")}

    run(main)


def test_directory_moved_in_and_out(tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = str(tmp_path / "root")
    outside = str(tmp_path / "outside")
    write(f"{root}/x")
    write(f"{outside}/pkg/sub/file.txt")
    backend = InotifyBackend()

    async def main() -> None:
        async with watching(backend, [root]) as col:
            await handshake(col, root)
            os.rename(f"{outside}/pkg", f"{root}/pkg")
            assert await wait_for(lambda: f"{root}/pkg/sub/file.txt" in col.paths)
            assert await wait_for(lambda: f"{root}/pkg/sub" in backend.watched_dirs())
            write(f"{root}/pkg/sub/new.txt")
            assert await wait_for(lambda: f"{root}/pkg/sub/new.txt" in col.paths)
            # Moved within the root: old paths reported, watches follow the new path.
            os.rename(f"{root}/pkg", f"{root}/renamed")
            assert await wait_for(lambda: f"{root}/renamed/sub/file.txt" in col.paths)
            assert await wait_for(lambda: f"{root}/pkg" not in backend.watched_dirs())
            assert f"{root}/renamed/sub" in backend.watched_dirs()
            # Moved out: reported as gone, its watches dropped.
            os.rename(f"{root}/renamed", f"{outside}/back")
            assert await wait_for(lambda: f"{root}/renamed" in col.paths)
            assert await wait_for(lambda: backend.watched_dirs() == {root})
            col.clear()
            write(f"{outside}/back/sub/ignored-now.txt")
            write(f"{root}/y")
            assert await wait_for(lambda: f"{root}/y" in col.paths)
            assert not any(p.startswith(outside) for p in col.paths)

    run(main)


def test_root_deleted_and_recreated(tmp_path) -> None:  # type: ignore[no-untyped-def]
    anchor = str(tmp_path / "anchor")
    root = str(tmp_path / "dist")
    write(f"{anchor}/a")
    write(f"{root}/old/bundle.js")
    backend = InotifyBackend()

    async def main() -> None:
        async with watching(backend, [anchor, root]) as col:
            await handshake(col, anchor)
            shutil.rmtree(root)
            assert await wait_for(lambda: f"{root}/old/bundle.js" in col.paths)
            assert await wait_for(lambda: str(tmp_path) in backend.watched_dirs())
            col.clear()
            write(f"{root}/new/bundle.js")
            assert await wait_for(lambda: f"{root}/new/bundle.js" in col.paths)
            assert await wait_for(lambda: f"{root}/new" in backend.watched_dirs())

    run(main)


def test_queue_overflow_rescans_and_reports_everything(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with open("/proc/sys/fs/inotify/max_queued_events") as f:
        max_queued = int(f.read())
    if max_queued > 100_000:
        pytest.skip("queue too large to overflow quickly")
    root = str(tmp_path)
    backend = InotifyBackend()
    # open(w)+close = CREATE + CLOSE_WRITE: two events per file, enough to overflow.
    n = max_queued // 2 + 500

    async def main() -> None:
        async with watching(backend, [root]) as col:
            await handshake(col, root)
            # Synchronously, without yielding: the loop cannot drain the queue.
            for i in range(n):
                open(f"{root}/f{i}", "w").close()
            assert await wait_for(lambda: backend.overflows >= 1)
            assert await wait_for(lambda: all(f"{root}/f{i}" in col.paths for i in range(n)))

    run(main)


def _inotify_fds() -> set[int]:
    found = set()
    for name in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{name}") == "anon_inode:inotify":
                found.add(int(name))
        except OSError:
            continue
    return found


def test_a_stopped_watch_closes_its_descriptor_off_the_event_loop(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Closing an inotify descriptor waits out a kernel grace period: a thread does it, and does it."""
    import threading

    from asyncinotify import Inotify

    closed_on: list[str] = []
    real_close = Inotify.close

    def close(self: Inotify) -> None:
        closed_on.append(threading.current_thread().name)
        real_close(self)

    monkeypatch.setattr(Inotify, "close", close)
    root = str(tmp_path)
    before = _inotify_fds()
    backend = InotifyBackend()

    async def main() -> None:
        async with watching(backend, [root], ignored) as col:
            await handshake(col, root)
            assert _inotify_fds() - before  # its descriptor is open while it watches

    run(main)
    for t in threading.enumerate():
        if t.name == "lockstep-inotify-close":
            t.join(30)
    assert closed_on == ["lockstep-inotify-close"]
    assert _inotify_fds() - before == set()
