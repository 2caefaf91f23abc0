"""The dashboard's static files ship as package data (a non-editable install finds them)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_static_assets_are_package_data(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(ROOT / "src", src, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    shutil.copy(ROOT / "README.md", tmp_path)
    build = tmp_path / "build"
    subprocess.run(
        [sys.executable, "-c", "from setuptools import setup; setup()", "-q", "build_py", "--build-lib", str(build)],
        cwd=tmp_path, check=True, capture_output=True, timeout=120,
    )
    shipped = {p.name for p in (build / "lockstep" / "ui" / "static").iterdir()}
    assert {"index.html", "app.js", "logs.js", "timeline.js", "graph.js", "style.css"} <= shipped
    # The server finds them from the installed layout, not from the checkout.
    out = subprocess.run(
        [sys.executable, "-c", "import lockstep.ui.server as s; print(s.static_dir())"],
        cwd=tmp_path, env={"PYTHONPATH": str(build), "PATH": "/usr/bin:/bin"},
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout.strip()
    assert out == str(build / "lockstep" / "ui" / "static")
