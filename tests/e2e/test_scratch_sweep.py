"""A `kill -9` of lockstep during an image build leaves its build context behind; it is kept in
the run's state dir (never the system's temporary directory) and removed by the next run and
by `down`, while a live process's scratch directory is never touched."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
from dockerd import DockerEngine
from upproc import VENV_BIN, wait_until

from lockstep.adapters.scratch import SCRATCH, owner_dir
from lockstep.statedir import state_dir

pytestmark = pytest.mark.e2e


def _leftovers(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("lockstep-build-*"))


def test_build_dirs_of_a_killed_run_are_swept_and_a_live_runs_kept(
        tmp_path: Path, docker_engine: DockerEngine, busybox_image: str) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text(f"FROM {busybox_image}\nRUN sleep 60\n")
    (tmp_path / "docker-compose.yml").write_text("services:\n  web:\n    image: scratch-killed\n")
    (tmp_path / "Tiltfile").write_text("docker_build('scratch-killed', 'app')\n"
                                       "docker_compose('docker-compose.yml')\n")
    systmp = tmp_path / "systmp"
    systmp.mkdir()
    env = {**os.environ, **docker_engine.env, "LOCKSTEP_STATE_DIR": str(tmp_path / "state"), "TMPDIR": str(systmp)}
    os.environ["LOCKSTEP_STATE_DIR"] = str(tmp_path / "state")
    sdir = state_dir(tmp_path / "Tiltfile")
    # A scratch directory of a process that is alive (this one): no sweep may remove it.
    live = owner_dir(sdir) / "lockstep-build-live"
    live.mkdir(parents=True)
    (live / "ctx.tar").write_bytes(b"in use")

    def killed_during_build(name: str) -> int:
        """Run `lockstep ci`, kill -9 it while its image builds; its pid."""
        log = open(tmp_path / name, "w")  # noqa: SIM115
        proc = subprocess.Popen([f"{VENV_BIN}/lockstep", "ci", "-f", str(tmp_path / "Tiltfile"), "--timeout",
                                 "120s"], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: "RUN sleep 60" in (tmp_path / name).read_text(), 90, "the build to run")
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            log.close()
        return proc.pid

    def killed_dirs() -> list[str]:
        return [p for p in _leftovers(sdir / SCRATCH) if not p.startswith(live.parent.name)]

    first = killed_during_build("ci1.log")
    assert _leftovers(systmp) == [], "build scratch went to the system's temporary directory"
    assert killed_dirs() and all(p.startswith(f"{first}-") for p in killed_dirs()), killed_dirs()

    # The next run removes the killed run's scratch before it builds (and is killed in turn).
    second = killed_during_build("ci2.log")
    assert "removed 1 scratch directory left by an earlier run" in (tmp_path / "ci2.log").read_text()
    assert killed_dirs() and all(p.startswith(f"{second}-") for p in killed_dirs()), killed_dirs()

    done = subprocess.run([f"{VENV_BIN}/lockstep", "down", "-f", str(tmp_path / "Tiltfile")], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "removed 1 scratch directory left by a run that did not stop cleanly" in done.stdout, done.stdout
    assert _leftovers(sdir / SCRATCH) == [f"{live.parent.name}/lockstep-build-live"]
    assert (live / "ctx.tar").read_bytes() == b"in use"
