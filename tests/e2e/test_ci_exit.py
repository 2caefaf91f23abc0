"""`lockstep ci` as a process: when it has exited, everything it owes is on disk and nothing it started lives.

The exit skips the interpreter's teardown (cli/main.py exit_now), and the evaluation is asked for before
the engine is imported: neither may cost a history line, a log line, the verdict or a stray process.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest
from procscan import marked_pids
from upproc import VENV_BIN

from lockstep.engine.persist import read_history
from lockstep.instance import PIDFILE
from lockstep.model.update import UpdateResult
from lockstep.statedir import state_dir

pytestmark = pytest.mark.e2e

# The printed words are not in the command's text (which is logged too): `%s` is filled in.
TILTFILE = """
local_resource('a', cmd='printf "out-of-%s-{tag}\\n" a')
local_resource('b', cmd='printf "out-of-%s-{tag}\\n" b; printf "err-of-%s-{tag}\\n" b >&2', resource_deps=['a'])
local_resource('c', cmd='printf "out-of-%s-{tag}\\n" c', resource_deps=['b'])
"""


def _ci(tf: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([f"{VENV_BIN}/lockstep", "ci", "--port", "0", "-f", str(tf)], cwd=tf.parent, env=env,
                          capture_output=True, text=True, timeout=120)


def test_after_ci_exits_the_history_logs_and_output_are_complete_and_nothing_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCKSTEP_STATE_DIR", str(tmp_path / "state"))  # for state_dir() here
    tag = uuid.uuid4().hex
    tf = tmp_path / "Tiltfile"
    tf.write_text(TILTFILE.format(tag=tag))
    env = {**os.environ, "LOCKSTEP_STATE_DIR": str(tmp_path / "state"), "LOCKSTEP_TEST_MARKER": tag}
    env.pop("PYTHONUNBUFFERED", None)  # block-buffered output, as a plain run has it
    for run in (1, 2):
        proc = _ci(tf, env)
        # Read at once: exit_now must not have left anything to the interpreter's teardown.
        assert proc.returncode == 0, proc.stderr
        assert not marked_pids(f"LOCKSTEP_TEST_MARKER={tag}"), "a process outlived `lockstep ci`"
        sdir = state_dir(tf, create=False)
        history = list(read_history(sdir))
        assert [(r.resource, r.result) for r in history] == [
            (name, UpdateResult.SUCCEEDED) for _ in range(run) for name in "abc"]
        assert all(r.end is not None for r in history)
        on_disk = "".join(p.read_text() for p in (sdir / "logs").rglob("*") if p.is_file())
        for line in (f"out-of-a-{tag}", f"out-of-b-{tag}", f"err-of-b-{tag}", f"out-of-c-{tag}"):
            assert on_disk.count(line) == run, line
            assert line in proc.stdout
        assert proc.stdout.splitlines()[-1].startswith("lockstep ci: success"), proc.stdout
        assert not (sdir / PIDFILE).exists()


def test_ci_of_a_failing_command_exits_1_with_the_failure_recorded(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCKSTEP_STATE_DIR", str(tmp_path / "state"))
    tf = tmp_path / "Tiltfile"
    tf.write_text("local_resource('bad', cmd='echo about-to-fail; exit 3')\n")
    env = {**os.environ, "LOCKSTEP_STATE_DIR": str(tmp_path / "state")}
    proc = _ci(tf, env)
    assert proc.returncode == 1
    assert "lockstep ci: failed" in proc.stderr
    history = list(read_history(state_dir(tf, create=False)))
    assert [(r.resource, r.result) for r in history] == [("bad", UpdateResult.FAILED)]
