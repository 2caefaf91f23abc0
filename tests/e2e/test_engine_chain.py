"""E2E (a): a chain of slow file-writing commands under an edit storm."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from upproc import Up, wait_until

from lockstep.engine.checker import check_history

pytestmark = pytest.mark.e2e

TILTFILE = """
local_resource('gen', cmd='sleep 0.2; mkdir -p out; cp src/input.txt out/gen.tmp; mv out/gen.tmp out/gen.txt',
               deps=['src'])
local_resource('build', cmd='sleep 0.2; (cat out/gen.txt; echo built) > out/build.txt',
               deps=['out/gen.txt'], resource_deps=['gen'])
local_resource('bundle', cmd='sleep 0.2; (cat out/build.txt; echo bundled) > out/bundle.txt',
               deps=['out/build.txt'], resource_deps=['build'])
"""


def test_chain_converges_to_final_input(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "input.txt").write_text("v0\n")
    tf = tmp_path / "Tiltfile"
    tf.write_text(TILTFILE)
    with Up(tf, tmp_path / "state") as up:
        bundle = tmp_path / "out" / "bundle.txt"
        wait_until(lambda: bundle.exists() and bundle.read_text() == "v0\nbuilt\nbundled\n", what="first bundle")
        # 50 rapid edits, landing while builds run (each step takes 0.2 s).
        for i in range(1, 51):
            (tmp_path / "src" / "input.txt").write_text(f"v{i}\n")
            time.sleep(0.03 if i % 10 else 0.4)  # the workload: edit bursts with gaps
        last_edit = time.time()
        wait_until(lambda: bundle.read_text() == "v50\nbuilt\nbundled\n", timeout=90, what="final bundle")

        def quiescent() -> bool:
            h = up.history()
            b = [r for r in h if r.resource == "bundle"]
            return bool(b) and b[-1].start > last_edit and b[-1].end is not None
        wait_until(quiescent, timeout=60, what="bundle updated after the last edit")
        up.stop()
    history = up.history()
    assert check_history(history) == []
    assert (tmp_path / "out" / "bundle.txt").read_text() == "v50\nbuilt\nbundled\n"
    # Coalescing: far fewer than 50 gen updates.
    gens = [r for r in history if r.resource == "gen"]
    assert 2 <= len(gens) < 30
