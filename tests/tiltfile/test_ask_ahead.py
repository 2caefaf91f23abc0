"""An evaluation asked for ahead (Evaluator.ask_ahead) runs before `load` is called, and `load` gets
exactly what a plain evaluation would have given; a restart, a stop or another request still win."""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from pathlib import Path

from procscan import marked_pids
from upproc import wait_until

from lockstep.tiltfile.isolate import Evaluator

LIMIT_MB = 200


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "Tiltfile"
    path.write_text(text)
    return path


def test_the_evaluation_runs_before_load_and_load_gets_the_same_result(tmp_path: Path) -> None:
    ran = tmp_path / "ran"
    path = write(tmp_path, f"local('touch {ran}', quiet=True)\n"
                           "local_resource('r-' + config.tilt_subcommand, cmd='true', deps=['.'])\n")
    ev = Evaluator(memory_mb=LIMIT_MB, warm=True)
    try:
        ev.ask_ahead(str(path), ["r-ci"], subcommand="ci")
        # Nobody waits for it yet: it runs all the same.
        wait_until(ran.exists, timeout=30, what="the asked-for evaluation to run its local()")
        ahead = ev.load(str(path), ["r-ci"], subcommand="ci")
        ran.unlink()
        plain = Evaluator(memory_mb=LIMIT_MB).load(str(path), ["r-ci"], subcommand="ci")
    finally:
        ev.cancel_all()
    assert ahead.ok, ahead.errors
    assert ahead == plain
    assert [r.name for r in ahead.resources] == ["r-ci"]


def test_load_of_another_request_stops_the_one_asked_for_and_evaluates_its_own(tmp_path: Path) -> None:
    path = write(tmp_path, "local_resource('r-' + config.tilt_subcommand, cmd='true')\n")
    ev = Evaluator(memory_mb=LIMIT_MB, warm=True)
    try:
        ev.ask_ahead(str(path), subcommand="up")
        assert ev._ahead is not None
        asked = ev._ahead[1]
        r = ev.load(str(path), subcommand="ci")
    finally:
        ev.cancel_all()
    assert [x.name for x in r.resources] == ["r-ci"]
    assert asked.poll() is not None and asked not in ev._children


def test_a_restart_before_load_gives_the_restarted_result(tmp_path: Path) -> None:
    path = write(tmp_path, "local_resource('a', cmd='true')\n")
    ev = Evaluator(memory_mb=LIMIT_MB, warm=True)
    try:
        ev.ask_ahead(str(path), subcommand="ci")
        ev.restart_running()
        r = ev.load(str(path), subcommand="ci")
        assert r.errors and "restarted" in r.errors[0].message
        # The next load evaluates afresh.
        assert ev.load(str(path), subcommand="ci").ok
    finally:
        ev.cancel_all()


def test_stopping_kills_the_evaluation_asked_for_and_its_commands(tmp_path: Path) -> None:
    marker = uuid.uuid4().hex
    path = write(tmp_path, "local('sleep 600')\n")
    ev = Evaluator(memory_mb=LIMIT_MB, warm=True, env={"LOCKSTEP_TEST_MARKER": marker})
    ev.ask_ahead(str(path), subcommand="ci")
    wait_until(lambda: any(Path(f"/proc/{p}/cmdline").read_bytes().startswith(b"sleep")
                           for p in marked_pids(marker)), timeout=30, what="the local() command to run")
    ev.cancel_all()
    wait_until(lambda: not marked_pids(marker), timeout=10, what="the child and its sleep to be gone")
    assert "cancelled" in ev.load(str(path), subcommand="ci").errors[0].message


def test_a_load_blocked_on_the_asked_evaluation_is_released_by_cancel_all(tmp_path: Path) -> None:
    path = write(tmp_path, "local('sleep 600')\n")
    ev = Evaluator(memory_mb=LIMIT_MB, warm=True)
    ev.ask_ahead(str(path), subcommand="ci")
    out = []
    worker = threading.Thread(target=lambda: out.append(ev.load(str(path), subcommand="ci")))
    worker.start()
    wait_until(lambda: ev._ahead is None, timeout=10, what="load to take the asked-for child")
    ev.cancel_all()
    worker.join(30)
    assert not worker.is_alive()
    assert "cancelled" in out[0].errors[0].message


def test_the_evaluation_child_imports_no_yaml_or_openssl_for_a_local_only_tiltfile(tmp_path: Path) -> None:
    path = write(tmp_path, "local_resource('a', cmd='true', deps=['.'])\nprint(read_json('x.json', {}))\n")
    code = ("import sys\nfrom lockstep.tiltfile.loader import load\n"
            f"r = load({str(path)!r}, [])\nassert r.ok, r.errors\n"
            "print(sorted(m for m in sys.modules if 'yaml' in m or 'hashlib' in m))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"
