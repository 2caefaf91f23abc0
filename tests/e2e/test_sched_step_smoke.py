"""bench/sched_step.py replays a tiny DAG (so the script cannot rot); no timing is asserted."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.e2e
def test_sched_step_starts_every_resource_once_in_both_trees(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(REPO / "bench" / "sched_step.py"), "--reps", "1", "--before", str(REPO / "src"), "60"],
        capture_output=True, text=True, timeout=240, cwd=tmp_path, check=True,
    ).stdout.splitlines()
    assert [line.split(":")[0] for line in out] == ["before", "after"]
    for line in out:
        # 20 layers of 3: each resource updated once, as `ci` does.
        assert re.match(r"\w+: 60 updates, planning CPU min [\d.]+ s \([\d.]+ ms per update; "
                        r"deciding [\d.]+ ms\)", line)
