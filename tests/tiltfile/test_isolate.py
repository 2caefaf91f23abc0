"""Evaluation in a bounded child: the result crosses intact, every kind of death is a
Tiltfile error, and stopping kills the child and what its local() calls started."""

from __future__ import annotations

import os
import pickle
import textwrap
import threading
import time
import uuid
from pathlib import Path

import pytest
from procscan import marked_pids
from upproc import wait_until

from lockstep.model.resource import LoadResult
from lockstep.tiltfile import load
from lockstep.tiltfile.isolate import MEMORY_ENV, Evaluator

# Small enough that the tests stay cheap; the interpreter needs about 30 MB.
LIMIT_MB = 200

RICH = """
config.define_string_list('only', args=True)
cfg = config.parse()
k8s_yaml(blob('''
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers: [{name: web, image: web-image}]
'''))
docker_build('web-image', '.', live_update=[sync('.', '/app'), run('make', trigger=['Makefile'])])
k8s_resource('web', port_forwards=['8080:80'], labels=['front'], links=[link('http://localhost:8080', 'app')])
local_resource('gen', cmd='echo gen', deps=['src'], ignore=['src/tmp'], labels=['back'],
               readiness_probe=probe(http_get=http_get_action(port=8080, path='/healthz')))
local_resource('srv', serve_cmd='sleep 1', resource_deps=['gen'], trigger_mode=TRIGGER_MODE_MANUAL,
               auto_init=False, allow_parallel=True, env={'A': 'b'})
watch_settings(ignore=['*.log'])
update_settings(max_parallel_updates=2)
print('hello', local('echo from-local'))
warn('careful')
"""


def write(tmp_path: Path, source: str) -> Path:
    path = tmp_path / "Tiltfile"
    path.write_text(textwrap.dedent(source))
    return path


def test_the_result_crosses_the_process_boundary_intact(tmp_path: Path) -> None:
    path = write(tmp_path, RICH)
    (tmp_path / "src").mkdir()
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    inside = load(str(path), ["--only", "x"], timeout=20)
    outside = Evaluator(memory_mb=LIMIT_MB).load(str(path), ["--only", "x"], timeout=20)
    assert inside.ok, inside.errors
    assert outside == inside
    assert {r.name for r in outside.resources} == {"web", "gen", "srv"}
    assert outside.warnings and outside.printed
    assert pickle.loads(pickle.dumps(outside)) == outside


def test_errors_and_dry_runs_cross_intact(tmp_path: Path) -> None:
    path = write(tmp_path, "local_resource('a', cmd='true')\nread_file('missing.txt')\nx = 1 +\n")
    ev = Evaluator(memory_mb=LIMIT_MB)
    assert ev.load(str(path), timeout=20) == load(str(path), timeout=20)
    assert ev.load(str(tmp_path), dry_run=True, subcommand="check", timeout=20) == load(
        str(tmp_path), dry_run=True, subcommand="check", timeout=20)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("source", [
    pytest.param('s = "ab"\nfor i in range(40):\n    s = s + s\n', id="string-doubled-40-times"),
    pytest.param("n = []\nfor i in range(100000000):\n    n.append(i)\n", id="list-growth"),
    pytest.param("n = 3000000000\nfor i in range(100000000):\n    n += 1\n", id="bigint-loop"),
])
def test_running_out_of_memory_is_a_tiltfile_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   source: str) -> None:
    # RUST_BACKTRACE=1 made the interpreter's out-of-memory panic deadlock while printing.
    monkeypatch.setenv("RUST_BACKTRACE", "1")
    path = write(tmp_path, source)
    started = time.monotonic()
    r = Evaluator(memory_mb=LIMIT_MB).load(str(path), timeout=60)
    assert time.monotonic() - started < 60
    assert not r.ok
    e = r.errors[0]
    assert e.message == f"{path}: Tiltfile evaluation ran out of memory (limit {LIMIT_MB} MiB) and was stopped"
    assert MEMORY_ENV in e.hint and "grows without bound" in e.hint
    assert r.config_files == (str(path),)  # an edit retries


def test_the_time_budget_still_applies_in_the_child(tmp_path: Path) -> None:
    path = write(tmp_path, "x = 0\nfor i in range(1000000000):\n    for j in range(1000000000):\n        x += 1\n")
    r = Evaluator(memory_mb=LIMIT_MB).load(str(path), timeout=0.5)
    assert not r.ok and r.errors[0].message == "Tiltfile evaluation took too long and was stopped"
    assert r.errors[0].location is not None and r.errors[0].location.file == str(path)


@pytest.mark.parametrize(("signal_name", "message"), [
    ("XCPU", "Tiltfile evaluation used more than 50 s of CPU and was stopped"),
    ("SEGV", "Tiltfile evaluation crashed (signal SIGSEGV)"),
    ("ABRT", "Tiltfile evaluation ran out of memory"),
    ("KILL", "Tiltfile evaluation was killed (SIGKILL); the machine may be out of memory"),
])
def test_the_childs_death_is_a_tiltfile_error(tmp_path: Path, signal_name: str, message: str) -> None:
    # local() commands share the child's process group and have it as their parent.
    path = write(tmp_path, f"local('kill -{signal_name} $PPID; sleep 5')\n")
    r = Evaluator(memory_mb=LIMIT_MB).load(str(path), timeout=20)
    assert not r.ok and r.errors[0].message.startswith(f"{path}: {message}"), r.errors


def test_local_commands_do_not_inherit_the_evaluation_limits(tmp_path: Path) -> None:
    path = write(tmp_path, "print(local('ulimit -v; ulimit -t; ulimit -c', quiet=True))\n")
    inside = load(str(path), timeout=20).printed
    outside = Evaluator(memory_mb=LIMIT_MB).load(str(path), timeout=20).printed
    assert outside == inside


def test_a_bad_memory_setting_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MEMORY_ENV, "lots")
    r = Evaluator().load(str(write(tmp_path, "print('x')\n")))
    assert not r.ok and r.errors[0].message.startswith(f"{MEMORY_ENV}='lots': expected a whole number of MiB")
    monkeypatch.setenv(MEMORY_ENV, "300")
    assert Evaluator().memory_mb == 300


@pytest.mark.timeout(60)
def test_cancel_all_kills_the_child_and_its_local_commands(tmp_path: Path) -> None:
    marker = uuid.uuid4().hex
    path = write(tmp_path, "local('sleep 120 & sleep 120')\nlocal_resource('a', cmd='true')\n")
    ev = Evaluator(memory_mb=LIMIT_MB, env={"LOCKSTEP_TEST_MARKER": marker})
    out: list[LoadResult] = []
    worker = threading.Thread(target=lambda: out.append(ev.load(str(path), timeout=20)))
    worker.start()
    wait_until(lambda: any(_cmdline(p).startswith(b"sleep") for p in marked_pids(marker)),
               timeout=20, what="the local() command to run")
    ev.cancel_all()
    worker.join(10)
    assert not worker.is_alive()
    assert out[0].errors[0].message == "Tiltfile evaluation cancelled: lockstep is stopping"
    wait_until(lambda: not marked_pids(marker), timeout=10, what="the child and both sleeps gone")
    # Stopping is for good: a later evaluation does not start a child at all.
    assert "cancelled" in ev.load(str(path)).errors[0].message


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_the_child_does_not_run_in_lockstep_itself(tmp_path: Path) -> None:
    path = write(tmp_path, "print(str(local('echo $PPID', quiet=True)).strip())\n")
    r = Evaluator(memory_mb=LIMIT_MB).load(str(path), timeout=20)
    assert r.ok and int(r.printed[0]) != os.getpid()


def test_a_warm_evaluator_uses_a_spare_child_started_ahead(tmp_path: Path) -> None:
    path = write(tmp_path, "print(str(local('echo $PPID', quiet=True)).strip())\n")
    ev = Evaluator(memory_mb=LIMIT_MB, warm=True)
    for _ in range(2):
        spare = ev._spare
        assert spare is not None and spare.poll() is None
        r = ev.load(str(path), timeout=20)
        assert r.ok and int(r.printed[0]) == spare.pid  # the evaluation ran in the spare
        assert ev._spare is not None and ev._spare.pid != spare.pid  # and a new one waits
    ev.cancel_all()
    assert ev._spare is None and spare.poll() is not None


def test_after_an_evaluation_the_next_spare_waits_for_its_refill_delay(tmp_path: Path) -> None:
    """The first spare starts at once; the next only `refill_secs` after an evaluation, so that
    it does not take the CPU from the updates that evaluation starts."""
    path = write(tmp_path, "print('x')\n")
    ev = Evaluator(memory_mb=LIMIT_MB, warm=True, refill_secs=3600)
    try:
        first = ev._spare
        assert first is not None
        assert ev.load(str(path), timeout=20).ok
        assert ev._spare is None and ev._refill is not None and ev._refill.is_alive()
        ev._refill.cancel()
        ev._refilled()  # the delay is over
        assert ev._spare is not None and ev._spare.pid != first.pid
    finally:
        ev.cancel_all()
    assert ev._spare is None


def test_stopping_cancels_a_pending_refill(tmp_path: Path) -> None:
    ev = Evaluator(memory_mb=LIMIT_MB, warm=True, refill_secs=3600)
    assert ev.load(str(write(tmp_path, "print('x')\n")), timeout=20).ok
    timer = ev._refill
    assert timer is not None
    ev.cancel_all()
    timer.join(10)
    assert not timer.is_alive() and ev._spare is None


def test_an_unused_spare_exits_when_lockstep_goes_away() -> None:
    ev = Evaluator(memory_mb=LIMIT_MB, warm=True)
    spare = ev._spare
    assert spare is not None and spare.stdin is not None
    spare.stdin.close()  # what the kernel does to the pipe when lockstep exits
    assert spare.wait(20) == 0
    assert spare.stderr is not None and spare.stderr.read() == b""  # quietly


def test_every_corpus_tiltfile_crosses_intact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    default = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "tiltfiles" / "dev"
    corpus = Path(os.environ.get("LOCKSTEP_CORPUS_DIR") or default)
    files = sorted(corpus.glob("*.star")) if corpus.is_dir() else []
    if not files:
        pytest.skip("Tiltfile corpus not found (set LOCKSTEP_CORPUS_DIR)")
    monkeypatch.setenv("LOCKSTEP_EXTENSIONS_DIR", str(tmp_path))  # as the corpus test: no extensions
    ev = Evaluator(memory_mb=LIMIT_MB, warm=True)
    try:
        for path in files[::4]:  # a spread of real Tiltfiles; each costs a child process
            assert ev.load(str(path), dry_run=True, timeout=20) == load(str(path), dry_run=True, timeout=20), path
    finally:
        ev.cancel_all()
