"""Extensions run from their copy in `tilt_modules` under lockstep's data directory, so
the ones that look for their own directory (caches beside `tilt_modules`, scripts beside
their Tiltfile) work, and nothing is written into the project."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

# Shaped like the published extensions that keep caches and scripts (helm_remote,
# git_resource, pypiserver): walk up from the extension's directory to `tilt_modules`.
FINDER = """
EXT_DIR = os.getcwd()

def _find_tilt_modules_load_dir():
    current = os.path.abspath('./')
    while True:
        if os.path.exists(os.path.join(current, 'tilt_modules')):
            return current
        next_dir = os.path.dirname(current)
        if next_dir == current:
            fail('Could not find root Tiltfile')
        current = next_dir

CACHE_DIR = os.path.join(_find_tilt_modules_load_dir(), '.finder-cache')

def helper_script():
    return read_file(os.path.join(EXT_DIR, 'scripts', 'helper.sh'))

def own_file():
    return __file__
"""


@pytest.fixture
def ext_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    source = tmp_path / "ext-source"
    (source / "finder" / "scripts").mkdir(parents=True)
    (source / "finder" / "Tiltfile").write_text(textwrap.dedent(FINDER))
    (source / "finder" / "scripts" / "helper.sh").write_text("echo v1\n")
    monkeypatch.setenv("LOCKSTEP_EXTENSIONS_DIR", str(source))
    return source


def test_extension_runs_from_tilt_modules_and_finds_its_root(tiltfile, tmp_path, ext_source):
    data = Path(os.environ["XDG_DATA_HOME"]) / "lockstep"
    r = tiltfile("""
        load('ext://finder', 'CACHE_DIR', 'EXT_DIR', 'helper_script', 'own_file')
        print(CACHE_DIR)
        print(EXT_DIR)
        print(helper_script().strip())
        print(own_file())
    """)
    assert r.ok, r.errors
    copy = data / "tilt_modules" / "finder"
    assert r.printed == (str(data / ".finder-cache"), str(copy), "echo v1", str(copy / "Tiltfile"))
    assert str(copy / "Tiltfile") in r.config_files
    assert str(ext_source / "finder" / "Tiltfile") in r.config_files  # edits of the original reload
    index = json.loads((data / "tilt_modules" / "extensions.json").read_text())
    assert [(e["name"], e["source"]) for e in index["extensions"]] == [("finder", str(ext_source / "finder"))]
    # Nothing is written into the project.
    assert not (tmp_path / "tilt_modules").exists()


def test_changed_extension_is_copied_again(tiltfile, ext_source):
    source = "load('ext://finder', 'helper_script')\nprint(helper_script().strip())\n"
    assert tiltfile(source).printed == ("echo v1",)
    (ext_source / "finder" / "scripts" / "helper.sh").write_text("echo v2\n")
    assert tiltfile(source).printed == ("echo v2",)


def test_dry_run_uses_tilt_modules_too(tiltfile, ext_source):
    r = tiltfile("load('ext://finder', 'CACHE_DIR')\nprint(CACHE_DIR)\n", dry_run=True)
    assert r.ok, r.errors
    assert not r.warnings, r.warnings
    assert r.printed[0].endswith(os.path.join("lockstep", ".finder-cache"))


def test_data_dir_of_another_user_is_refused(tiltfile, ext_source, tmp_path, monkeypatch):
    # A symlinked data root could point into a directory someone else controls.
    real = tmp_path / "real-data"
    real.mkdir()
    base = tmp_path / "xdg"
    base.mkdir()
    (base / "lockstep").symlink_to(real)
    monkeypatch.setenv("XDG_DATA_HOME", str(base))
    r = tiltfile("load('ext://finder', 'CACHE_DIR')\n")
    assert not r.ok
    assert "not a directory of your own" in r.errors[0].message
