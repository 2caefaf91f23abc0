"""Both watch backends against a real temp tree (inotify on Linux, watchfiles anywhere)."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable

import pytest
from watchkit import handshake, wait_for, watching

from lockstep.watch.backend import WatchBackend, make_backend
from lockstep.watch.watchfiles_backend import WatchfilesBackend

BACKENDS: list[str] = ["watchfiles"]
if sys.platform.startswith("linux"):
    BACKENDS.insert(0, "inotify")


def new_backend(name: str) -> WatchBackend:
    if name == "inotify":
        from lockstep.watch.inotify_backend import InotifyBackend

        return InotifyBackend()
    return WatchfilesBackend()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> WatchBackend:
    return new_backend(request.param)


def run(coro_fn: Callable[[], object]) -> None:
    asyncio.run(asyncio.wait_for(coro_fn(), 30))  # type: ignore[arg-type]


def write(path: str, text: str = "x") -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def test_make_backend_picks_inotify_on_linux() -> None:
    name = type(make_backend()).__name__
    assert name == ("InotifyBackend" if sys.platform.startswith("linux") else "WatchfilesBackend")


def test_create_modify_delete_move(backend: WatchBackend, tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = str(tmp_path / "src")
    write(f"{root}/old.txt")
    write(f"{root}/sub/keep.txt")

    async def main() -> None:
        async with watching(backend, [root]) as col:
            await handshake(col, root)
            write(f"{root}/new.txt")
            assert await wait_for(lambda: f"{root}/new.txt" in col.paths)
            write(f"{root}/sub/keep.txt", "changed")
            assert await wait_for(lambda: f"{root}/sub/keep.txt" in col.paths)
            os.unlink(f"{root}/old.txt")
            assert await wait_for(lambda: f"{root}/old.txt" in col.paths)
            os.rename(f"{root}/new.txt", f"{root}/sub/moved.txt")
            assert await wait_for(lambda: {f"{root}/new.txt", f"{root}/sub/moved.txt"} <= col.paths)
            assert all(p.startswith(root + "/") for p in col.paths)

    run(main)


def test_new_subdirectory_with_files_created_immediately(backend: WatchBackend, tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = str(tmp_path)

    async def main() -> None:
        async with watching(backend, [root]) as col:
            await handshake(col, root)
            # No yield to the loop between mkdir and the writes: the files exist
            # before any watch on the new directories can land.
            files = [f"{root}/a/b/c/f{i}.txt" for i in range(5)]
            for f in files:
                write(f)
            assert await wait_for(lambda: set(files) <= col.paths)
            # And the new directories are watched from now on.
            write(f"{root}/a/b/c/later.txt")
            assert await wait_for(lambda: f"{root}/a/b/c/later.txt" in col.paths)

    run(main)


def test_only_the_roots_are_watched(backend: WatchBackend, tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = str(tmp_path / "watched")
    tiltfile = str(tmp_path / "Tiltfile")
    write(f"{root}/x")
    write(tiltfile)

    async def main() -> None:
        async with watching(backend, [root, tiltfile]) as col:
            await handshake(col, root)
            write(str(tmp_path / "unrelated.txt"))
            write(str(tmp_path / "other" / "y.txt"))
            write(tiltfile, "changed")
            assert await wait_for(lambda: tiltfile in col.paths)
            # Editors save by writing a temp file and renaming it over the target.
            col.clear()
            write(tiltfile + ".new", "saved")
            os.rename(tiltfile + ".new", tiltfile)
            assert await wait_for(lambda: tiltfile in col.paths)
            write(f"{root}/y")
            assert await wait_for(lambda: f"{root}/y" in col.paths)
            assert all(p == tiltfile or p.startswith(root + "/") for p in col.paths), col.paths

    run(main)


def test_ignored_directory_events_are_not_reported(backend: WatchBackend, tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = str(tmp_path)
    write(f"{root}/node_modules/pkg/index.js")

    def ignored(d: str) -> bool:
        return os.path.basename(d) == "node_modules"

    async def main() -> None:
        async with watching(backend, [root], ignored) as col:
            await handshake(col, root)
            write(f"{root}/node_modules/pkg/index.js", "changed")
            write(f"{root}/node_modules/new/file.js")
            write(f"{root}/src/app.js")
            assert await wait_for(lambda: f"{root}/src/app.js" in col.paths)
            assert not any("/node_modules/" in p for p in col.paths), col.paths

    run(main)


def test_root_that_does_not_exist_yet(backend: WatchBackend, tmp_path) -> None:  # type: ignore[no-untyped-def]
    anchor = str(tmp_path / "anchor")
    os.makedirs(anchor)
    later_dir = str(tmp_path / "later" / "deep" / "dir")
    later_file = str(tmp_path / "conf" / "settings.yaml")

    async def main() -> None:
        async with watching(backend, [anchor, later_dir, later_file]) as col:
            await handshake(col, anchor)
            write(str(tmp_path / "later" / "sibling.txt"))  # not a root: not reported
            write(f"{later_dir}/made.txt")
            assert await wait_for(lambda: f"{later_dir}/made.txt" in col.paths)
            write(f"{later_dir}/second.txt")  # watched now
            assert await wait_for(lambda: f"{later_dir}/second.txt" in col.paths)
            write(later_file)
            assert await wait_for(lambda: later_file in col.paths)
            assert str(tmp_path / "later" / "sibling.txt") not in col.paths

    run(main)
