"""A fresh machine's `make test`: chromium is installed by the test target's own script, the same
one `.ci/run` goes through, and a missing chromium gives one behaviour everywhere.

apt-get and id are fakes on PATH here: the script's root path is exercised without touching the
machine's packages.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / ".ci" / "ensure-chromium"


def _fakes(tmp_path: Path, uid: int, apt_failures: int = 0) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "apt-calls"
    (bin_dir / "id").write_text(f"#!/bin/sh\necho {uid}\n")
    # Fails the first `apt_failures` calls, then succeeds; records every call.
    (bin_dir / "apt-get").write_text(
        f"#!/bin/sh\necho \"$*\" >> {calls}\n"
        f"[ $(wc -l < {calls}) -gt {apt_failures} ]\n"
    )
    for f in bin_dir.iterdir():
        f.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "LOCKSTEP_SKIP_BROWSER"}
    env.update(PATH=f"{bin_dir}:{env['PATH']}", LOCKSTEP_CHROMIUM=str(tmp_path / "no-chromium"),
               LOCKSTEP_RETRY_DELAY="0")
    return env


def _run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT)], env=env, capture_output=True, text=True, timeout=30)


def _calls(tmp_path: Path) -> list[str]:
    f = tmp_path / "apt-calls"
    return f.read_text().splitlines() if f.exists() else []


def test_non_root_without_chromium_gets_the_exact_command(tmp_path: Path) -> None:
    done = _run(_fakes(tmp_path, uid=1000))
    assert done.returncode == 1
    assert "sudo apt-get update && sudo apt-get install -y chromium" in done.stderr
    assert "LOCKSTEP_SKIP_BROWSER=1 make test" in done.stderr
    assert _calls(tmp_path) == []


def test_root_installs_with_apt_retrying(tmp_path: Path) -> None:
    done = _run(_fakes(tmp_path, uid=0, apt_failures=1))
    assert done.returncode == 0, done.stderr
    assert _calls(tmp_path) == ["update -q", "update -q", "install -y -q chromium"]
    assert "attempt 1 failed: apt-get update -q" in done.stderr


def test_present_or_explicitly_skipped_needs_nothing(tmp_path: Path) -> None:
    env = _fakes(tmp_path, uid=1000)
    assert _run({**env, "LOCKSTEP_CHROMIUM": "/bin/sh"}).returncode == 0
    skipped = _run({**env, "LOCKSTEP_SKIP_BROWSER": "1"})
    assert skipped.returncode == 0 and "browser tests will be skipped" in skipped.stderr
    assert _calls(tmp_path) == []


def test_make_test_and_ci_run_go_through_the_same_script() -> None:
    makefile = (REPO / "Makefile").read_text()
    target = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert target.splitlines()[1].strip() == ".ci/ensure-chromium"
    assert [line for line in (REPO / ".ci" / "run").read_text().splitlines()
            if line and not line.startswith("#")][-1] == "make test"


@pytest.mark.parametrize(("skip", "outcome"), [("", "1 error"), ("1", "1 skipped")])
def test_browser_tests_without_chromium_fail_or_skip_as_asked(tmp_path: Path, skip: str, outcome: str) -> None:
    env = {**os.environ, "LOCKSTEP_CHROMIUM": str(tmp_path / "no-chromium"), "LOCKSTEP_SKIP_BROWSER": skip}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "tests/e2e/test_petstore_browser.py"], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)
    assert outcome in done.stdout, done.stdout[-2000:]
    if not skip:
        assert "sudo apt-get install -y chromium" in done.stdout


def test_make_says_which_python_it_needs_before_making_a_venv(tmp_path: Path) -> None:
    """A machine whose python3 is too old or lacks venv (Debian without python3-venv)."""
    for name in ("Makefile", "pyproject.toml"):
        (tmp_path / name).write_text((REPO / name).read_text())
    calls = tmp_path / "python-calls"
    fake = tmp_path / "python3"
    # Answers every check as an old Python without ensurepip would: failure.
    fake.write_text(f"#!/bin/sh\necho \"$*\" >> {calls}\nexit 1\n")
    fake.chmod(0o755)
    done = subprocess.run(["make", "demo", f"PY={fake}"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode != 0
    assert "lockstep needs Python 3.11 or newer with the venv module" in done.stderr
    assert "sudo apt-get install -y python3-venv" in done.stderr and "make PY=" in done.stderr
    assert not any("-m venv" in c for c in calls.read_text().splitlines())
    assert not (tmp_path / ".venv").exists()
