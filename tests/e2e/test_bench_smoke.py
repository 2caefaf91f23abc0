"""The benchmark harness end to end, at tiny sizes, so that it cannot rot.

Timing figures are never asserted: only that a scenario ran every tool and
wrote figures of the expected shape.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


def test_noop_dag_scenario_writes_figures_for_lockstep_and_make(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "run_all.py"), "--smoke", "--only", "noop", "--no-install",
         "--no-docs", "--out", str(out)],
        capture_output=True, text=True, timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads((out / "results.json").read_text())
    assert data["meta"]["mode"] == "smoke"
    assert set(data["scenarios"]) == {"noop"}
    noop = data["scenarios"]["noop"]
    tools = {"lockstep", "make"} if shutil.which("make") else {"lockstep"}
    assert {r["tool"] for r in noop["metrics"]} == tools
    for row in noop["metrics"]:
        assert row["n"] == len(row["samples"]) >= 1
        assert 0 < row["min"] <= row["median"] <= row["p95"]
        assert row["max_rss_mb"] > 0 and row["nodes"] > 0
    for row in noop["summary"]:
        assert row["lockstep"] > 0
        assert (row["ratio"] is not None) == ("make" in tools)
    assert "wall time vs make" in proc.stdout  # the console summary


def test_dashboard_and_floor_scenarios_write_figures(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "run_all.py"), "--smoke", "--only", "dashboard,floor", "--no-install",
         "--no-docs", "--out", str(out)],
        capture_output=True, text=True, timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads((out / "results.json").read_text())
    dash = data["scenarios"]["dashboard"]
    cases = {r["case"]: r for r in dash["metrics"]}
    for case in ("GET /api/view, plain", "GET /api/view, gzip (inflated by the client)",
                 "one trigger -> stream delta received"):
        assert cases[case]["n"] >= 1 and 0 < cases[case]["min"] <= cases[case]["p95"]
    # The gzip body is the same document, smaller.
    assert 0 < cases["GET /api/view, gzip (inflated by the client)"]["bytes"] < cases["GET /api/view, plain"]["bytes"]
    assert [row["goal"] for row in dash["summary"]] == [100.0, 20.0]
    # The floor measures the start path `up` uses (the watchdog's one exec), next to bare asyncio.
    tools = {r["tool"] for r in data["scenarios"]["floor"]["metrics"]}
    assert {"asyncio", "asyncio-pidfd", "lockstep", "lockstep-sh"} <= tools
    assert "watchdog, one exec" in proc.stdout
