"""bench/scale_ci.py runs end to end on a tiny DAG (so the script cannot rot); no timing is asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.e2e
def test_scale_ci_prints_one_row_with_wall_cpu_and_rss(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(REPO / "bench" / "scale_ci.py"), "40"],
        capture_output=True, text=True, timeout=240, cwd=tmp_path, check=True,
    ).stdout.splitlines()
    assert out[0].startswith("| resources | make -j2 | lockstep ci |") and out[0].endswith("| CPU: make, ci |")
    cells = [c.strip() for c in out[2].strip("|").split("|")]
    assert cells[0] == "40" and len(cells) == 7
    assert all(c.endswith(" s") for c in cells[6].split(", ")) and cells[5].endswith(" MB")
