"""Scratch directories: swept when their owner process is gone, never while it runs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from lockstep.adapters import scratch
from lockstep.adapters.scratch import SCRATCH, owner_dir, sweep


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_dead_owners_are_swept_live_ones_and_strangers_kept(tmp_path: Path) -> None:
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        live = owner_dir(tmp_path, sleeper.pid)
        dead = owner_dir(tmp_path, _dead_pid())
        mine = owner_dir(tmp_path)
        # Our own pid, but another start time: a reused pid, so its owner is gone.
        reused = tmp_path / SCRATCH / f"{os.getpid()}-{int(mine.name.split('-')[1]) + 1}"
        other = tmp_path / SCRATCH / "not-an-owner"
        for d in (live, dead, mine, reused, other):
            (d / "lockstep-build-x").mkdir(parents=True)
        gone = sweep(tmp_path)
        assert sorted(gone) == sorted([f"{dead.name}/lockstep-build-x", f"{reused.name}/lockstep-build-x"])
        assert live.exists() and mine.exists() and other.exists()
        assert not dead.exists() and not reused.exists()
    finally:
        sleeper.kill()
        sleeper.wait()
    # Once the sleeper is gone its directory goes too.
    assert sweep(tmp_path) == [f"{live.name}/lockstep-build-x"]


def test_no_state_dir_yet_sweeps_nothing(tmp_path: Path) -> None:
    assert sweep(tmp_path / "absent") == []


def test_mkdtemp_goes_under_the_state_dir_once_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scratch, "_root", None)
    elsewhere = scratch.mkdtemp("lockstep-build-")
    os.rmdir(elsewhere)
    assert not elsewhere.startswith(str(tmp_path))
    scratch.use(tmp_path)
    made = Path(scratch.mkdtemp("lockstep-build-"))
    assert made.parent == owner_dir(tmp_path) and made.name.startswith("lockstep-build-")
    assert made.stat().st_mode & 0o777 == 0o700
    made.rmdir()
    scratch.release()
    assert not owner_dir(tmp_path).exists()


def test_never_inside_what_the_build_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A state dir inside the project (LOCKSTEP_STATE_DIR=./state) must not put a build's
    own scratch files into its context: the system's temporary directory serves there."""
    project = tmp_path / "project"
    monkeypatch.setattr(scratch, "_root", None)
    scratch.use(project / "state")
    inside = Path(scratch.mkdtemp("lockstep-build-", avoid=[str(project)]))
    beside = Path(scratch.mkdtemp("lockstep-build-", avoid=[str(tmp_path / "proj")]))  # a prefix, not a parent
    try:
        assert not str(inside).startswith(str(tmp_path))
        assert beside.parent == owner_dir(project / "state")
    finally:
        inside.rmdir()
        beside.rmdir()
