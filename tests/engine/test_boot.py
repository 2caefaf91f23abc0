"""Starting up before the engine is imported (engine/boot.py): the first evaluation asked for at once,
an edit made after that request still restarts it, and a stop signal from the claim on is a graceful stop."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from procscan import marked_pids
from upproc import wait_until

from lockstep.engine.app import build_engine, run_app
from lockstep.engine.boot import boot
from lockstep.engine.engine import Engine, EngineOptions


async def _at_once(_: Engine) -> int:
    return 0


def test_an_edit_after_the_early_request_restarts_the_first_evaluation(tmp_path: Path) -> None:
    read = tmp_path / "read"
    tf = tmp_path / "Tiltfile"
    # This version signals once it is being evaluated (it has been read), then lingers a little.
    tf.write_text(f"local('touch {read}; sleep 0.3', quiet=True)\nlocal_resource('old', cmd='true')\n")
    started = boot(str(tf), (), subcommand="ci")
    engine = None
    try:
        wait_until(read.exists, timeout=30, what="the early evaluation to read the Tiltfile")
        tf.write_text("local_resource('new', cmd='true')\n")  # before the engine exists
        engine, reaper = build_engine(EngineOptions(tiltfile=str(tf), state_dir=tmp_path / "state"),
                                      subcommand="ci", started=started)
        assert asyncio.run(run_app(engine, reaper, _at_once)) == 0
    finally:
        if engine is None:
            started.stop()
    assert engine.first_load is not None
    assert [r.name for r in engine.first_load.resources] == ["new"]


def test_without_an_edit_the_early_evaluation_is_the_first_load(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    tf = tmp_path / "Tiltfile"
    tf.write_text(f"local('echo x >> {runs}', quiet=True)\nlocal_resource('a', cmd='true')\n")
    started = boot(str(tf), (), subcommand="ci")
    engine, reaper = build_engine(EngineOptions(tiltfile=str(tf), state_dir=tmp_path / "state"),
                                  subcommand="ci", started=started)
    assert asyncio.run(run_app(engine, reaper, _at_once)) == 0
    assert engine.first_load is not None and [r.name for r in engine.first_load.resources] == ["a"]
    assert runs.read_text() == "x\n"  # evaluated once: the early request was the first load


def test_ci_keeps_no_spare_evaluation_child_and_up_does(tmp_path: Path) -> None:
    tf = tmp_path / "Tiltfile"
    tf.write_text("local_resource('a', cmd='true')\n")
    for command, spare in (("ci", False), ("up", True)):
        started = boot(str(tf), (), subcommand=command)
        try:
            assert started.evaluator.load(str(tf), subcommand=command).ok
            assert started.evaluator._warm is spare
            assert started.evaluator._spare is None  # nothing left over from the one asked ahead
        finally:
            started.stop()


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM", "SIGHUP"])
def test_a_stop_signal_after_the_claim_is_a_graceful_stop(tmp_path: Path, sig: str) -> None:
    """As `down` (or Ctrl-C) sends it while `ci` still imports the engine: held, then handled by run_app."""
    tag = uuid.uuid4().hex
    ran = tmp_path / "ran"
    tf = tmp_path / "Tiltfile"
    tf.write_text(f"local_resource('a', cmd='touch {ran}')\n")
    script = ("import os, signal, sys\n"
              "from lockstep.engine.boot import hold_stop_signals\n"
              "hold_stop_signals()\n"
              f"os.kill(os.getpid(), signal.{sig})\n"
              "from lockstep.cli.main import main\n"
              f"sys.exit(main(['ci', '-f', {str(tf)!r}]))\n")
    env = {**os.environ, "LOCKSTEP_STATE_DIR": str(tmp_path / "state"), "LOCKSTEP_TEST_MARKER": tag}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, (done.returncode, done.stderr)
    assert "stopped before every resource was up to date" in done.stderr
    assert not ran.exists()
    wait_until(lambda: not marked_pids(f"LOCKSTEP_TEST_MARKER={tag}"), timeout=10,
               what="the watchdog and the evaluation child to be gone")
    assert not list((tmp_path / "state").rglob("up.json"))
