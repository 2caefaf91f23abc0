"""E2E: the pet-store example runs with a pip-installed lockstep, whatever `python3` is first on PATH.

The build steps need PyYAML and swagger-ui-bundle; the system python3 here has neither. lockstep
exposes the interpreter running it as LOCKSTEP_PYTHON, which the example's Tiltfile uses.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest
from petstore_harness import copy_example
from petstore_support import MARKER_VAR, VENV_BIN, assert_all_gone, free_port

pytestmark = pytest.mark.e2e


def test_ci_on_the_example_without_the_venv_on_path(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "petstore")
    port = free_port()
    marker = uuid.uuid4().hex
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if Path(p) != VENV_BIN)
    env = {k: v for k, v in os.environ.items() if k not in ("PETSTORE_PYTHON", "LOCKSTEP_PYTHON", "VIRTUAL_ENV")}
    env.update(PATH=path, LOCKSTEP_STATE_DIR=str(tmp_path / "state"), PETSTORE_PORT=str(port),
               PYTHONDONTWRITEBYTECODE="1", **{MARKER_VAR: marker})
    done = subprocess.run([str(VENV_BIN / "lockstep"), "ci", "--timeout", "180s", "-f", str(root / "Tiltfile")],
                          cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr
    assert "build-petstore" in done.stdout and "lockstep ci: success" in done.stdout
    assert_all_gone(marker, port)
