"""`ci` and `why` start on corrupt state files: they report them and carry on."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from upproc import VENV_BIN

from lockstep.engine.persist import read_history
from lockstep.statedir import state_dir


@pytest.mark.timeout(120)
def test_ci_and_why_survive_bad_bytes_torn_lines_and_a_bad_inferred_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tf = tmp_path / "Tiltfile"
    tf.write_text("local_resource('chat', cmd='true')\n")
    monkeypatch.setenv("LOCKSTEP_STATE_DIR", str(tmp_path / "state"))
    env = {**os.environ, "LOCKSTEP_STATE_DIR": str(tmp_path / "state")}
    sdir = state_dir(tf)
    (sdir / "history.jsonl").write_bytes(b'\xff\n{"id": 50, "resource": "chat')
    (sdir / "inferred.json").write_text("null")

    def lockstep(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([f"{VENV_BIN}/lockstep", *args, "-f", str(tf)], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=90)

    ci = lockstep("ci")
    assert ci.returncode == 0, ci.stdout + ci.stderr
    assert "Traceback" not in ci.stderr
    assert "skipped 2 unreadable line(s)" in ci.stderr and "inferred.json is corrupt" in ci.stderr
    assert [r.resource for r in read_history(sdir)] == ["chat"]  # the new run's record was not lost
    assert len(list(sdir.glob("inferred.json.corrupt-*"))) == 1
    why = lockstep("why")
    assert why.returncode == 0 and "Traceback" not in why.stderr, why.stderr
    assert "chat" in why.stdout
