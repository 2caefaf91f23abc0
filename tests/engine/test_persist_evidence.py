"""Learnt edges are persisted with their evidence; files from before (pairs) still load."""

from __future__ import annotations

import json
from pathlib import Path

from lockstep.engine.persist import INFERRED, StateFiles, load_inferred, load_inferred_evidence


def test_edges_round_trip_with_their_evidence(tmp_path: Path) -> None:
    seen = "pid 4242 `python3 ui/build.py` had static_site/app.js open for writing"
    StateFiles.write_inferred(tmp_path, frozenset({("ui", "image")}), {("ui", "image"): seen})
    assert json.loads((tmp_path / INFERRED).read_text()) == [["ui", "image", seen]]
    assert load_inferred_evidence(tmp_path) == {("ui", "image"): seen}
    # Forgetting one edge (no evidence given) keeps the others' evidence.
    StateFiles.write_inferred(tmp_path, frozenset({("ui", "image"), ("a", "b")}), {("ui", "image"): seen})
    StateFiles.write_inferred(tmp_path, frozenset({("ui", "image")}))
    assert load_inferred_evidence(tmp_path) == {("ui", "image"): seen}


def test_pairs_saved_before_evidence_still_load(tmp_path: Path) -> None:
    (tmp_path / INFERRED).write_text(json.dumps([["ui", "image"]]))
    assert load_inferred(tmp_path) == frozenset({("ui", "image")})
    assert load_inferred_evidence(tmp_path) == {("ui", "image"): ""}


def test_a_malformed_entry_sets_the_file_aside(tmp_path: Path) -> None:
    (tmp_path / INFERRED).write_text(json.dumps([["ui", "image", 42]]))
    assert load_inferred_evidence(tmp_path) == {}
    assert not (tmp_path / INFERRED).exists()
    assert list(tmp_path.glob(INFERRED + ".corrupt-*"))
