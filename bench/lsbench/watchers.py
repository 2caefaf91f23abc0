"""Long-running file watchers started the same way for every tool.

Each tool watches the same kind of tree and runs the same command,
`date +%s.%N >> STAMP`, so "when did the command start" is read the same way
for all of them. Debounce: lockstep's quiet window, watchmedo auto-restart's
--debounce-interval and chokidar-cli's --debounce take the same value; entr has
no debounce setting, so its window is zero.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from lsbench.common import LOCKSTEP, stamps, stop

WATCHERS = ("lockstep", "entr", "watchmedo", "chokidar")
NODE_MODULES = "node_modules"


@dataclass
class Watcher:
    tool: str
    proc: subprocess.Popen[bytes]
    stamp: Path
    window: float  # the debounce this tool applies (0 for entr)

    def starts(self) -> list[float]:
        return stamps(self.stamp)

    def stop(self) -> None:
        stop(self.proc)


def _files(target: Path) -> list[str]:
    if target.is_file():
        return [str(target)]
    out = []
    for dirpath, dirnames, filenames in os.walk(target):
        dirnames[:] = [d for d in dirnames if d != NODE_MODULES]
        out += [os.path.join(dirpath, f) for f in filenames]
    return out


def start(tool: str, exe: str, root: Path, target: str, debounce: float, tag: str = "") -> Watcher:
    """Start `tool` watching root/target (a file or a tree whose node_modules is ignored).

    `tag` names its files, so that several tools can share one root.
    """
    stamp = root / f"started{tag}.txt"
    cmd = f"date +%s.%N >> {stamp}"
    window = debounce
    stdin = subprocess.DEVNULL
    env = None
    if tool == "lockstep":
        tf = root / f"Tiltfile{tag}"
        tf.write_text(f"local_resource('build', cmd={cmd!r}, deps=[{target!r}], "
                      f"ignore=['**/{NODE_MODULES}'])\n")
        argv = [LOCKSTEP, "up", "--stream", "--port", "0", "--quiet-window", f"{debounce * 1000:g}ms", "-f", str(tf)]
        env = {**os.environ, "LOCKSTEP_STATE_DIR": str(root.parent / f".state-{root.name}{tag}")}
    elif tool == "entr":
        argv = [exe, "-n", "sh", "-c", cmd]
        stdin = subprocess.PIPE
        window = 0.0
    elif tool == "watchmedo":
        argv = [exe, "auto-restart", "-d", str(root / target), "-R", "--debounce-interval", str(debounce),
                "--signal", "SIGTERM", "-i", f"*/{NODE_MODULES}/*", "--", "sh", "-c", f"{cmd}; exec sleep 1000000"]
    elif tool == "chokidar":
        argv = [exe, str(root / target), "--initial", "--silent", "-d", str(round(debounce * 1000)),
                "-i", f"**/{NODE_MODULES}/**", "-c", cmd]
    else:
        raise ValueError(f"unknown watcher {tool}")
    err = open(root / f"{tool}{tag}.stderr", "wb")  # noqa: SIM115 - the child keeps it
    proc = subprocess.Popen(argv, cwd=root, env=env, stdin=stdin, stdout=subprocess.DEVNULL, stderr=err,
                            start_new_session=True)
    err.close()
    if tool == "entr" and proc.stdin is not None:
        proc.stdin.write(("\n".join(_files(root / target)) + "\n").encode())
        proc.stdin.close()
    return Watcher(tool, proc, stamp, window)
