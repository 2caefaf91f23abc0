"""`local('tilt version')` is answered by lockstep (the Tilt API it follows), never run: an
extension that gates on it works with no `tilt` installed, or with an unrelated one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lockstep.tiltfile.tilt_version import ANSWER, TILT_API_VERSION, is_tilt_version

SHARED = """
apiVersion: v1
kind: ConfigMap
metadata: {name: shared}
data: {a: b}
"""
TILTFILE = """
load('ext://version_gate', 'deploy_shared', 'tilt_version')
deploy_shared(read_file('shared.yaml'), allow_duplicates=True)
deploy_shared(read_file('shared.yaml'), allow_duplicates=True)
print('tilt', tilt_version())
"""


@pytest.mark.parametrize("tilt", ["absent", "old", "broken"])
def test_an_extension_gating_on_tilt_version_gets_lockstep_s_answer(tiltfile, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                  monkeypatch: pytest.MonkeyPatch, tilt: str) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    if tilt != "absent":
        script = "echo v0.10.0, built 2019-01-01" if tilt == "old" else "echo tilt is not lockstep >&2; exit 3"
        (bindir / "tilt").write_text(f"#!/bin/sh\n{script}\n")
        (bindir / "tilt").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}/usr/bin{os.pathsep}/bin")
    r = tiltfile(TILTFILE, files={"shared.yaml": SHARED})
    assert r.ok, r.errors
    # allow_duplicates reached k8s_yaml: the same object twice is no error.
    assert f"tilt {[int(n) for n in TILT_API_VERSION.split('.')]}" in "\n".join(r.printed)


def test_in_a_dry_run_too(tiltfile, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    r = tiltfile(TILTFILE, files={"shared.yaml": SHARED}, dry_run=True)
    # Not an unknown output that skips the statements depending on it: the real answer.
    assert r.ok and not r.warnings, (r.errors, r.warnings)
    assert f"tilt {[int(n) for n in TILT_API_VERSION.split('.')]}" in "\n".join(r.printed)


def test_without_the_answer_the_duplicate_is_refused(tiltfile) -> None:  # type: ignore[no-untyped-def]
    # The gate is real: the same YAML twice without allow_duplicates is an error.
    r = tiltfile("k8s_yaml(read_file('shared.yaml'))\nk8s_yaml(read_file('shared.yaml'))\n",
                 files={"shared.yaml": SHARED})
    assert not r.ok and "allow_duplicates=True" in r.errors[0].hint


@pytest.mark.parametrize(("argv", "answered"), [
    (("tilt", "version"), True),
    (("sh", "-c", "tilt version"), True),
    (("sh", "-c", "  tilt   version "), True),
    (("sh", "-c", "tilt version && rm -rf x"), False),
    (("tilt", "version", "--verbose"), False),
    (("tilt", "get", "uiresource"), False),
    (("sh", "-c", "tilt"), False),
])
def test_only_that_exact_command_is_answered(argv: tuple[str, ...], answered: bool) -> None:
    assert is_tilt_version(argv) is answered
    assert ANSWER.startswith(f"v{TILT_API_VERSION}, built ")
