"""E2E: choosing resources the Tilt way (`up NAME...`, `ci NAME...`, `enable [--with-deps]`)."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest
from upproc import VENV_BIN, Up, wait_until

pytestmark = pytest.mark.e2e

PLAIN = textwrap.dedent("""
    local_resource('db', cmd='echo db-ran')
    local_resource('api', cmd='echo api-ran', resource_deps=['db'])
    local_resource('other', cmd='echo other-ran; exit 1')
""")

LINKED = PLAIN + "local_resource('docs', serve_cmd='sleep 300', links=[link('http://localhost:9999/', 'docs')])\n"

PARSED = textwrap.dedent("""
    config.define_string_list('to-run', args=True)
    cfg = config.parse()
    local_resource('db', cmd='echo db-ran')
    local_resource('api', cmd='echo api-ran', resource_deps=['db'])
    for name in cfg.get('to-run', []):
        local_resource('extra-' + name, cmd='echo extra-ran')
""")


def _ci(tmp_path: Path, tiltfile: str, *argv: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "Tiltfile").write_text(tiltfile)
    env = {"LOCKSTEP_STATE_DIR": str(tmp_path / "state"), "PATH": f"{VENV_BIN}:/usr/bin:/bin"}
    return subprocess.run([f"{VENV_BIN}/lockstep", "ci", "--timeout", "60s", *argv], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)


def test_ci_names_select_resources_and_their_deps(tmp_path: Path) -> None:
    done = _ci(tmp_path, PLAIN, "api")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "db-ran" in done.stdout and "api-ran" in done.stdout and "other-ran" not in done.stdout
    assert "all 2 enabled resources up to date; 1 disabled, not run: other" in done.stdout


def test_ci_args_after_dashes_select_the_same_way(tmp_path: Path) -> None:
    done = _ci(tmp_path, PLAIN, "--", "api")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "db-ran" in done.stdout and "other-ran" not in done.stdout


def test_with_config_parse_names_go_to_the_tiltfile(tmp_path: Path) -> None:
    done = _ci(tmp_path, PARSED, "x")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "extra-ran" in done.stdout and "db-ran" in done.stdout
    assert "all 3 enabled resources up to date" in done.stdout


def test_enable_names_disabled_upstreams_and_with_deps_enables_them(tmp_path: Path) -> None:
    up = Up.write(tmp_path, PLAIN, "other")
    env = up.env

    def cli(*argv: str) -> str:
        done = subprocess.run([f"{VENV_BIN}/lockstep", *argv, "-f", str(up.tiltfile)], env=env,
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        return done.stdout

    with up:
        wait_until(lambda: "other-ran" in up.log_text(), what="other to run")
        out = cli("enable", "api")
        assert "api: enabled" in out
        assert "api: waits on disabled db; enable them too with `lockstep enable --with-deps api`" in out
        wait_until(lambda: "waiting on db (disabled: `lockstep enable db`)" in cli("describe", "api"),
                   what="api's hold to name the disabled upstream")
        out = cli("enable", "--with-deps", "api")
        assert "db: enabled" in out and "waits on disabled" not in out
        wait_until(lambda: "api-ran" in up.log_text(), what="api to run after db")


def test_up_names_select_and_disabled_resources_print_no_links(tmp_path: Path) -> None:
    up = Up.write(tmp_path, LINKED, "api")
    with up:
        wait_until(lambda: "api-ran" in up.log_text(), what="api to run")
        assert "other-ran" not in up.log_text()
        assert "docs at http://localhost:9999/" not in up.log_text()
    up = Up.write(tmp_path, LINKED, "docs")
    with up:
        up.expect("lockstep: docs: docs at http://localhost:9999/")
