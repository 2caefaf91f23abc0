"""Idle CPU and RSS of each watch backend with a 100k-file tree under the watched root.

    .venv/bin/python bench/idle_cpu.py [FILES] [SECONDS]

Each backend runs in a fresh subprocess (clean RSS figures). After the initial
watches are in place (setup time is printed too) the process sits idle for
SECONDS and we divide the CPU time it used by the wall time. A 10k-file
`node_modules` sibling is ignored, to show that inotify never enters it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time


def make_tree(root: str, files: int, per_dir: int = 100) -> None:
    for d in range(files // per_dir):
        sub = os.path.join(root, "src", f"pkg{d // 50}", f"mod{d}")
        os.makedirs(sub)
        for i in range(per_dir):
            with open(os.path.join(sub, f"f{i}.py"), "w") as f:
                f.write("x = 1\n")
    for d in range(100):
        sub = os.path.join(root, "node_modules", f"dep{d}")
        os.makedirs(sub)
        for i in range(100):
            open(os.path.join(sub, f"i{i}.js"), "w").close()


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def child(name: str, root: str, seconds: float) -> None:
    if name == "inotify":
        from lockstep.watch.inotify_backend import InotifyBackend

        backend: object = InotifyBackend()
    else:
        from lockstep.watch.watchfiles_backend import WatchfilesBackend

        backend = WatchfilesBackend()
    seen: set[str] = set()
    probe = os.path.join(root, "probe")
    t0 = time.perf_counter()
    task = asyncio.create_task(
        backend.run([root], lambda d: os.path.basename(d) == "node_modules", seen.update)  # type: ignore[attr-defined]
    )
    while probe not in seen:  # the watcher is live once it reports a write
        with open(probe, "w") as f:
            f.write("x")
        await asyncio.sleep(0.05)
    setup = time.perf_counter() - t0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.sleep(seconds)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    extra = ""
    if name == "inotify":
        extra = f", {len(backend.watched_dirs())} watches"  # type: ignore[attr-defined]
    print(
        f"{name:10s} setup {setup:5.2f} s{extra}; idle CPU {100 * cpu / wall:5.2f} % of a core "
        f"over {wall:.1f} s; RSS {rss_mb():.0f} MB"
    )
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        asyncio.run(child(sys.argv[2], sys.argv[3], float(sys.argv[4])))
        return
    files = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    seconds = sys.argv[2] if len(sys.argv) > 2 else "5"
    with tempfile.TemporaryDirectory() as root:
        t0 = time.perf_counter()
        make_tree(root, files)
        print(f"tree: {files:,} files (+10,000 ignored in node_modules), built in {time.perf_counter() - t0:.1f} s")
        names = ["inotify", "watchfiles"] if sys.platform.startswith("linux") else ["watchfiles"]
        for name in names:
            subprocess.run([sys.executable, __file__, "--child", name, root, seconds], check=True)


if __name__ == "__main__":
    main()
