"""What `check`, `ci` and `--help` import: only what they run.

Each runs in a fresh interpreter (this one has imported everything already) and
reports `sys.modules` after the command returns.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lockstep.cli.catalog import HELP
from lockstep.cli.main import build_parser

_REPORT = (
    "import json, sys\n"
    "from lockstep.cli.main import main\n"
    "try:\n"
    "    code = main(sys.argv[2:])\n"
    "except SystemExit as exc:\n"
    "    code = exc.code\n"
    "open(sys.argv[1], 'w').write(json.dumps({'code': code, 'modules': sorted(sys.modules)}))\n"
)

# Neither a local-only Tiltfile nor the CLI's plumbing needs any of these in lockstep's own process.
NEVER_LOCAL = (
    "aiohttp", "aiohttp.client", "aiohttp.web", "yaml", "starlark",
    "lockstep.ui.client", "lockstep.ui.server", "lockstep.ui.hub", "lockstep.ui.api",
    "lockstep.tiltfile.loader", "lockstep.tiltfile.compose", "lockstep.tiltfile.k8s",
    "lockstep.engine.k8s_runner", "lockstep.engine.k8s_runtime", "lockstep.engine.compose_runtime",
    "lockstep.engine.image_runner", "lockstep.adapters.docker", "lockstep.adapters.kubectl",
)


def _modules_after(argv: list[str], tmp_path: Path) -> tuple[int, set[str]]:
    out = tmp_path / "modules.json"
    env = {**os.environ, "LOCKSTEP_STATE_DIR": str(tmp_path / "state")}
    subprocess.run([sys.executable, "-c", _REPORT, str(out), *argv], cwd=tmp_path, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    report = json.loads(out.read_text())
    return int(report["code"]), set(report["modules"])


@pytest.fixture
def local_tiltfile(tmp_path: Path) -> Path:
    tf = tmp_path / "Tiltfile"
    tf.write_text("local_resource('a', cmd='true', deps=['src'])\nlocal_resource('b', cmd='true', "
                  "resource_deps=['a'])\n")
    (tmp_path / "src").mkdir()
    return tf


@pytest.mark.parametrize("command", ["check", "ci"])
def test_a_local_only_tiltfile_loads_no_server_client_yaml_or_cluster_code(
        command: str, local_tiltfile: Path, tmp_path: Path) -> None:
    code, modules = _modules_after([command, "-f", str(local_tiltfile)], tmp_path)
    assert code == 0
    assert sorted(m for m in NEVER_LOCAL if m in modules) == []
    if command == "check":  # nothing of the engine either
        assert sorted(m for m in modules if m.startswith(("lockstep.engine", "lockstep.store", "asyncio"))) == []
    # A streamed run does not draw the live table (rich), and a successful one reads no view
    # model or log excerpt (a failure report does).
    assert sorted(m for m in modules if m.startswith(("rich", "lockstep.ui.live", "lockstep.ui.viewmodel",
                                                      "lockstep.ui.excerpt"))) == []


def test_a_failed_ci_still_reports_from_the_views_and_excerpts(tmp_path: Path) -> None:
    tf = tmp_path / "Tiltfile"
    tf.write_text("local_resource('bad', cmd='echo broken-here; exit 4')\n")
    code, modules = _modules_after(["ci", "-f", str(tf)], tmp_path)
    assert code == 1
    assert {"lockstep.ui.excerpt", "lockstep.ui.viewmodel"} <= modules


def test_help_lists_every_command_and_imports_none(tmp_path: Path) -> None:
    code, modules = _modules_after(["--help"], tmp_path)
    assert code == 0
    assert sorted(m for m in modules if m.endswith("_cmd") or m.startswith("lockstep.engine")) == []
    done = subprocess.run([sys.executable, "-m", "lockstep.cli.main", "--help"], capture_output=True, text=True,
                          check=True, timeout=60)
    text = " ".join(done.stdout.split())
    for name, help_text in HELP.items():
        assert f"{name} {' '.join(help_text.split())}" in text, name


def test_the_listed_help_is_each_commands_own() -> None:
    """The catalog and the parsers agree: every command registered in full shows the catalog's text."""
    full = build_parser()
    listed = build_parser("")
    for parser in (full, listed):
        sub = next(a for a in parser._actions if a.dest == "command")
        helps = {c.dest: c.help for c in sub._choices_actions}  # type: ignore[attr-defined]
        assert helps == HELP


def test_a_command_parses_its_own_arguments_in_full(tmp_path: Path) -> None:
    args = build_parser("ci").parse_args(["ci", "-f", "x", "--port", "0", "--timeout", "5s"])
    assert (args.command, args.file, args.port, args.timeout) == ("ci", "x", 0, 5.0)
    with pytest.raises(SystemExit):
        build_parser("bogus").parse_args(["bogus"])
