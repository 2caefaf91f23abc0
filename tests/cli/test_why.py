"""`lockstep why`: recorded updates, reasons, hold history and learnt edges, from the state dir."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lockstep.cli.main import main
from lockstep.engine.persist import StateFiles, load_inferred
from lockstep.model.update import HoldKind, HoldReason, Reason, ReasonKind, UpdateRecord, UpdateResult
from lockstep.statedir import state_dir


@pytest.fixture
def recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LOCKSTEP_STATE_DIR", str(tmp_path / "state"))
    tf = tmp_path / "Tiltfile"
    tf.write_text("")
    files = StateFiles(state_dir(tf))
    files.append_update(UpdateRecord(1, "ui", (Reason(ReasonKind.INITIAL),), 100.0, 101.5, UpdateResult.SUCCEEDED))
    files.append_holds(101.0, "image", (HoldReason(HoldKind.WAITING_ON_UPSTREAM, ("ui",)),))
    files.append_holds(101.6, "image", ())
    files.append_update(UpdateRecord(
        2, "image", (Reason(ReasonKind.FILES, ("/src/site/index.html",)), Reason(ReasonKind.UPSTREAM, upstream="ui")),
        101.6, 102.0, UpdateResult.FAILED, error="cmd exited with code 1", tainted=True, upstreams=("ui",),
    ))
    seen = "pid 42 `python3 ui/build.py` had site/a.js open for writing"
    files.save_inferred(frozenset({("ui", "image")}), {("ui", "image"): seen})
    files.close()
    return tf


def test_why_explains_each_update(recorded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["why", "-f", str(recorded), "image"]) == 0
    out = capsys.readouterr().out
    assert "#2 image: failed in 0.40s" in out and "tainted" in out
    assert "because files changed: /src/site/index.html" in out
    assert "because upstream ui updated" in out
    assert "after ui" in out and "error: cmd exited with code 1" in out
    assert "hold history:" in out and "waiting on ui" in out and "released" in out
    assert "ui → image (inferred) learnt: pid 42 `python3 ui/build.py` had site/a.js open for writing" in out
    assert "#1 ui" not in out


def test_why_json_and_forget(recorded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["why", "-f", str(recorded), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [u["id"] for u in data["updates"]] == [1, 2]
    assert data["inferred_edges"] == [["ui", "image"]]
    assert data["inferred_evidence"][0][2].startswith("pid 42 ")
    assert main(["why", "-f", str(recorded), "--forget-inferred", "image:ui"]) == 1
    assert "no inferred edge 'image:ui' (known: ui:image)" in capsys.readouterr().err
    assert main(["why", "-f", str(recorded), "--forget-inferred", "ui:image"]) == 0
    assert load_inferred(state_dir(recorded)) == frozenset()


@pytest.mark.parametrize("which", ["bogus", "ui:", ":image"])
def test_forget_takes_a_pair_or_all(recorded: Path, which: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["why", "-f", str(recorded), "--forget-inferred", which]) == 2
    assert "--forget-inferred takes UP:DOWN" in capsys.readouterr().err
    assert load_inferred(state_dir(recorded)) == frozenset({("ui", "image")})
