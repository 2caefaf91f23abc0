"""E2E: learnt (inferred) edges come only from evidence of writing (C4).

A user's edit while an unrelated command runs (a never-ending `cmd`, dev
servers) holds the edited resource for at most a second, learns nothing and
persists nothing; a process seen writing another resource's inputs is learnt,
with the evidence, shown by `why` and `graph`, and restored by the next `up`.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
from upproc import VENV_BIN, Up, wait_until

from lockstep.engine.persist import read_holds

pytestmark = pytest.mark.e2e

REPRO = """
local_resource('long', cmd='sleep 300', deps=['a'], allow_parallel=True)
local_resource('b', cmd='echo b', deps=['b'], allow_parallel=True)
"""


def _dirs(root: Path, *names: str) -> None:
    for n in names:
        (root / n).mkdir()
        (root / n / "f").write_text("0")


def _starts(up: Up, name: str) -> list[float]:
    return sorted(r.start for r in up.history() if r.resource == name)


def _hold_kinds(up: Up) -> set[str]:
    return {str(h.get("kind")) for e in read_holds(up.sdir) for h in e.get("holds", []) if isinstance(h, dict)}


def test_an_edit_while_an_unrelated_command_runs_learns_nothing(tmp_path: Path) -> None:
    _dirs(tmp_path, "a", "b")
    up = Up.write(tmp_path, REPRO)
    with up:
        wait_until(lambda: _starts(up, "b"), what="b's first update")
        wait_until(lambda: "Running cmd: sleep 300" in up.log_text(), what="long to run")
        delays = []
        for k in range(3):
            before = len(_starts(up, "b"))
            edited = time.time()
            (tmp_path / "b" / "f").write_text(f"x{k}")
            wait_until(lambda n=before: len(_starts(up, "b")) > n, timeout=10, what="b to update after the edit")  # type: ignore[misc]
            delays.append(_starts(up, "b")[-1] - edited)
        assert max(delays) < 1.5, delays
        assert up.inferred() == frozenset()
        up.stop()
    assert "learnt edge" not in up.log_text()
    kinds = _hold_kinds(up)
    assert "checking-writers" in kinds and "waiting-for-writers" not in kinds, kinds
    # A second run: nothing was learnt, so b is free.
    launched = time.time()
    up2 = Up(tmp_path / "Tiltfile", tmp_path / "state")
    with up2:
        wait_until(lambda: _starts(up2, "b")[-1] > launched, timeout=10, what="b's update in the second run")
        assert "learnt edge" not in up2.log_text()


# A dev server: logs to its output and appends to its own log file (synced, so that the
# kernel's write_bytes counter grows all the time, as a busy server's does).
SERVER = """
import os, sys, time
os.makedirs("logs", exist_ok=True)
with open(f"logs/{sys.argv[1]}.log", "a") as log:
    while True:
        print("serving", sys.argv[1], flush=True)
        log.write("request\\n" * 200)
        log.flush()
        os.fsync(log.fileno())
        time.sleep(0.1)
"""


def test_seven_dev_servers_as_cmd_with_max_parallel_3(tmp_path: Path) -> None:
    names = [f"web{i}" for i in range(7)]
    _dirs(tmp_path, *names)
    (tmp_path / "server.py").write_text(SERVER)
    lines = ["update_settings(max_parallel_updates=3)"] + [
        f"local_resource({n!r}, cmd='python3 server.py {n}', deps=[{n!r}], allow_parallel=True)" for n in names
    ]
    up = Up.write(tmp_path, "\n".join(lines) + "\n")
    with up:
        wait_until(lambda: up.log_text().count("serving web") >= 3, what="three servers to run")
        for k in range(3):
            for n in names:
                (tmp_path / n / "f").write_text(f"edit {k}")
                time.sleep(0.05)
            time.sleep(1.5)
        assert up.inferred() == frozenset()
        assert not (up.sdir / "inferred.json").exists() or json.loads((up.sdir / "inferred.json").read_text()) == []
        up.stop()
    # The queued servers wait for a slot, not for "writers" that never finish.
    kinds = _hold_kinds(up)
    assert "waiting-for-writers" not in kinds and "parallel-limit" in kinds, kinds


WRITER = """
import sys, time
with open("site/app.js", "w") as f:
    for i in range(30):
        f.write("x" * 100)
        f.flush()
        time.sleep(0.05)
"""


def test_a_writer_seen_with_the_file_open_is_learnt_with_its_evidence(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "v").write_text("0")
    (tmp_path / "site").mkdir()
    (tmp_path / "write.py").write_text(WRITER)
    up = Up.write(tmp_path, """
local_resource('build', cmd='python3 write.py', deps=['src'], allow_parallel=True)
local_resource('image', cmd='cat site/app.js > /dev/null', deps=['site'], allow_parallel=True)
""")
    with up:
        wait_until(lambda: ("build", "image") in up.inferred(), timeout=20, what="the learnt edge")
        described = subprocess.run([f"{VENV_BIN}/lockstep", "describe", "image", "-f", str(up.tiltfile)],
                                   env=up.env, capture_output=True, text=True, check=True).stdout
        assert "  learnt from build: pid " in described, described
        up.stop()
    def cli(*args: str) -> str:
        return subprocess.run([f"{VENV_BIN}/lockstep", *args, "-f", str(up.tiltfile)], env=up.env,
                              capture_output=True, text=True, check=True).stdout
    why = cli("why", "image")
    assert "build → image (inferred) learnt: pid " in why, why
    assert "`python3 write.py` had site/app.js open for writing" in why or "python3 write.py` wrote" in why, why
    assert "build → image: pid " in cli("graph")
    # The next `up` says it restored it, and how to forget it.
    up2 = Up(up.tiltfile, tmp_path / "state")
    with up2:
        line = up2.expect("learnt edge restored")
        assert "1 learnt edge restored; `lockstep why --forget-inferred`" in line, line
        assert "restored learnt edge build → image: pid " in up2.expect("restored learnt edge")
