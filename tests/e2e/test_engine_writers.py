"""E2E (b): the original broken setup, with no resource_deps at all.

An image-like step watches a directory that another allow_parallel step
rewrites file by file. After the first inferred edge, no copy is partial.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from upproc import VENV_BIN, Up, wait_until

from lockstep.engine.checker import check_history

pytestmark = pytest.mark.e2e

WRITE_SITE = """
import os, shutil, sys, time
version = open("ui_src/version.txt").read().strip()
shutil.rmtree("site", ignore_errors=True)
os.makedirs("site")
for i in range(5):
    with open(f"site/part{i}.txt", "w") as f:
        f.write(version)
    time.sleep(0.06)
"""

COPY_IMAGE = """
import json, os, shutil
shutil.rmtree("image", ignore_errors=True)
os.makedirs("site", exist_ok=True)
shutil.copytree("site", "image")
parts = sorted(os.listdir("image"))
versions = {open(os.path.join("image", p)).read() for p in parts}
with open("copies.jsonl", "a") as f:
    f.write(json.dumps({"parts": len(parts), "versions": sorted(versions)}) + "\\n")
"""

TILTFILE = """
local_resource('ui', cmd='python3 write_site.py', deps=['ui_src'], allow_parallel=True)
local_resource('image', cmd='python3 copy_image.py', deps=['site'], allow_parallel=True)
"""


def write_bytes_accounted(directory: Path) -> bool:
    """Does this filesystem show file writes in /proc/<pid>/io's write_bytes (ext4 does, tmpfs does not)?"""
    probe = "import sys\nopen(sys.argv[1], 'w').write('x' * 8192)\nprint(open('/proc/self/io').read())"
    out = subprocess.run([sys.executable, "-c", probe, str(directory / "probe.bin")], capture_output=True,
                         text=True, check=True).stdout
    (directory / "probe.bin").unlink()
    return any(line.startswith("write_bytes:") and int(line.split()[1]) > 0 for line in out.splitlines())


def test_broken_setup_converges(tmp_path: Path) -> None:
    (tmp_path / "ui_src").mkdir()
    (tmp_path / "ui_src" / "version.txt").write_text("0")
    (tmp_path / "write_site.py").write_text(WRITE_SITE)
    (tmp_path / "copy_image.py").write_text(COPY_IMAGE)
    tf = tmp_path / "Tiltfile"
    tf.write_text(TILTFILE)
    copies = tmp_path / "copies.jsonl"

    def copy_log() -> list[dict[str, object]]:
        if not copies.exists():
            return []
        return [json.loads(line) for line in copies.read_text().splitlines() if line.strip()]

    def image_current(version: str) -> bool:
        log = copy_log()
        return bool(log) and log[-1] == {"parts": 5, "versions": [version]}

    caught: list[int] = []  # the bursts during which the writer was seen writing
    with Up(tf, tmp_path / "state") as up:
        wait_until(lambda: image_current("0"), what="first complete image")
        learnt_by: int | None = None  # the storm by whose end the edge was known (0: the first build)
        if ("ui", "image") in up.inferred():
            learnt_by = 0
        for burst in range(1, 21):
            seen_before = up.log_text().count("seen writing these files")
            for k in range(3):
                (tmp_path / "ui_src" / "version.txt").write_text(f"{burst}.{k}")
                time.sleep(0.05)  # the workload: a burst of edits
            final = f"{burst}.2"
            wait_until(lambda v=final: image_current(v), timeout=30, what=f"image at {final}")  # type: ignore[misc]
            if up.log_text().count("seen writing these files") > seen_before:
                caught.append(burst)
            if learnt_by is None and ("ui", "image") in up.inferred():
                learnt_by = burst
        up.stop()
        assert ("ui", "image") in up.inferred()
    history = up.history()
    assert check_history(history) == []
    images = sorted((r for r in history if r.resource == "image"), key=lambda r: r.start)
    log = copy_log()
    # An update cut short by the stop is recorded as cancelled; it may or may not have copied.
    assert len(images) - 1 <= len(log) <= len(images)
    print(f"writer caught in {len(caught)} of 20 storms: {caught}; edge known by storm {learnt_by}")
    if write_bytes_accounted(tmp_path):
        # The kernel counts the writer's bytes here (not on tmpfs): it is caught during the first
        # build or on the first storm, so the edge is known before any copy can be partial. Once
        # known, the writer is an upstream (C1 orders it) and no longer needs catching.
        assert learnt_by == 0 or (caught and caught[0] == 1 and learnt_by == 1), (caught, learnt_by)
    inferred_from = next(i for i, r in enumerate(images) if "ui" in r.upstreams)
    for record, copy in list(zip(images, log, strict=False))[inferred_from:]:
        assert copy["parts"] == 5 and len(copy["versions"]) == 1, f"partial copy in update #{record.id}: {copy}"

    # The learnt edge is shown by `graph` and `why`, and can be forgotten.
    def cli(*args: str) -> str:
        return subprocess.run([f"{VENV_BIN}/lockstep", *args, "-f", str(tf)], env=up.env, capture_output=True,
                              text=True, check=True).stdout
    assert "(inferred)" in cli("graph")
    assert "ui → image (inferred)" in cli("why", "image")
    cli("why", "--forget-inferred", "ui:image")
    assert "(inferred)" not in cli("graph")
