"""`lockstep logs NAME` when no lockstep runs: the last run's log, read from disk, printed as the live command
prints it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from upproc import Up

from lockstep.cli.main import main

TILTFILE = textwrap.dedent("""
    local_resource('a', cmd='echo built-a; echo second-a; echo "ERROR: third-a"')
    local_resource('b', cmd='echo built-b', resource_deps=['a'])
""")


def logs(tiltfile: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["logs", *argv, "--file", str(tiltfile)])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.timeout(120)
def test_logs_after_ci_exited_reads_the_last_run(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCKSTEP_STATE_DIR", str(tmp_path / "state"))
    tiltfile = tmp_path / "Tiltfile"
    tiltfile.write_text(TILTFILE)
    ci = subprocess.run([sys.executable, "-m", "lockstep.cli.main", "ci", "--port", "0", "-f", str(tiltfile)],
                        cwd=tmp_path, env=os.environ.copy(), capture_output=True, text=True, timeout=90)
    assert ci.returncode == 0, ci.stderr
    code, out, err = logs(tiltfile, capsys, "a")
    assert code == 0, err
    assert "showing the last run's log" in err and "/logs/run-" in err
    lines = out.splitlines()
    texts = [line.split("│ ", 1)[1] for line in lines]
    assert texts[-3:] == ["built-a", "second-a", "ERROR: third-a"]
    assert all(line.split("│")[0].split()[1] == "a" for line in lines)
    code, out, _ = logs(tiltfile, capsys, "--json", "--tail", "2", "a")
    got = [json.loads(x) for x in out.splitlines()]
    assert [(x["resource"], x["text"]) for x in got] == [("a", "second-a"), ("a", "ERROR: third-a")]
    assert set(got[1]) == {"seq", "resource", "source", "level", "stream", "at", "text"}
    assert got[1]["level"] == "error" and got[1]["stream"] == "out" and got[0]["seq"] < got[1]["seq"]
    code, out, _ = logs(tiltfile, capsys, "--json", "a", "b")
    got = [json.loads(x) for x in out.splitlines()]
    assert [x["text"] for x in got if x["text"].startswith(("built", "ERROR"))] == [
        "built-a", "ERROR: third-a", "built-b"]
    assert {x["resource"] for x in got} == {"a", "b"}
    code, out, _ = logs(tiltfile, capsys, "--json")
    seqs = [json.loads(x)["seq"] for x in out.splitlines()]
    assert code == 0 and seqs == sorted(seqs) and len(seqs) > 6
    code, _, err = logs(tiltfile, capsys, "nope")
    assert code == 1 and "no lines of nope" in err
    code, out, err = logs(tiltfile, capsys, "-f", "b")
    assert code == 1 and "built-b" in out and "not following" in err


@pytest.mark.timeout(120)
def test_the_last_run_prints_as_the_live_command_did(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with Up.write(tmp_path, TILTFILE) as up:
        assert main(["wait", "--for=condition=Ready", "b", "--timeout", "60s", "-f", str(up.tiltfile)]) == 0
        code, live, _ = logs(up.tiltfile, capsys, "a", "b")
        assert code == 0 and "built-b" in live
        assert up.stop() == 0
    code, offline, err = logs(up.tiltfile, capsys, "a", "b")
    assert code == 0 and "showing the last run's log" in err
    assert offline.splitlines()[: len(live.splitlines())] == live.splitlines()
