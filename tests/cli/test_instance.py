"""`down` signals only the `up` it can prove is running; a second `up` is refused before evaluating."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from upproc import VENV_BIN, Up, wait_until

from lockstep.cli.main import main
from lockstep.instance import PIDFILE, InstanceLock, claim, lock_held, release, start_time
from lockstep.statedir import state_dir


@pytest.fixture
def stranger() -> Iterator[subprocess.Popen[bytes]]:
    p = subprocess.Popen(["sleep", "600"])  # anyone's process that happens to reuse a recorded pid
    try:
        yield p
    finally:
        p.kill()
        p.wait()


@pytest.fixture
def tiltfile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LOCKSTEP_STATE_DIR", str(tmp_path / "state"))
    tf = tmp_path / "Tiltfile"
    tf.write_text("local_resource('a', cmd='true')\n")
    return tf


def _record(tf: Path, info: dict[str, object]) -> Path:
    path = state_dir(tf) / PIDFILE
    path.write_text(json.dumps(info))
    return path


def test_start_time_is_stat_field_22(stranger: subprocess.Popen[bytes]) -> None:
    with open(f"/proc/{stranger.pid}/stat") as f:
        expected = int(f.read().rsplit(")", 1)[1].split()[19])
    assert start_time(stranger.pid) == expected
    assert start_time(2**22 + 12345) is None


@pytest.mark.parametrize("recorded", ["bare pid", "pid and its start time", "wrong start time, lock held"])
def test_down_never_signals_a_foreign_pid(
    recorded: str, stranger: subprocess.Popen[bytes], tiltfile: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    info: dict[str, object] = {"pid": stranger.pid, "tiltfile": str(tiltfile)}
    lock = InstanceLock(state_dir(tiltfile))
    if recorded != "bare pid":
        info["start"] = start_time(stranger.pid)
    if recorded.startswith("wrong"):
        info["start"] = int(info["start"]) - 1  # type: ignore[call-overload]
        assert lock.acquire()  # a live lockstep holds the lock, but the pid is not it
    path = _record(tiltfile, info)
    try:
        assert main(["down", "-f", str(tiltfile), "--timeout", "2"]) == 0
    finally:
        lock.release()
    assert stranger.poll() is None, "down killed a process it did not start"
    assert not path.exists()
    out = capsys.readouterr().out
    assert "removed a stale up.json" in out and "nothing was signalled" in out


def test_a_stale_pidfile_is_reported_and_replaced_by_the_next_claim(
    stranger: subprocess.Popen[bytes], tiltfile: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sdir = state_dir(tiltfile)
    _record(tiltfile, {"pid": stranger.pid})
    assert claim(sdir, str(tiltfile)) is None
    try:
        assert "replacing a stale up.json" in capsys.readouterr().err
        info = json.loads((sdir / PIDFILE).read_text())
        assert info["pid"] == os.getpid() and info["start"] == start_time(os.getpid())
        assert lock_held(sdir)
    finally:
        release(sdir)
    assert not lock_held(sdir)
    assert stranger.poll() is None


@pytest.mark.timeout(120)
def test_second_up_during_slow_first_evaluation_is_refused_and_down_stops_the_first(tmp_path: Path) -> None:
    tf = "local('sleep 30')\nlocal_resource('a', cmd='true')\n"
    (tmp_path / "Tiltfile").write_text(tf)
    with Up(tmp_path / "Tiltfile", tmp_path / "state") as first:
        sdir = first.sdir
        wait_until(lambda: lock_held(sdir) and (sdir / PIDFILE).exists(), 20, "the first up to take the lock")
        second = subprocess.run(
            [f"{VENV_BIN}/lockstep", "up", "--stream", "--port", "0", "-f", str(tmp_path / "Tiltfile")],
            env=first.env, capture_output=True, text=True, timeout=30,
        )
        assert second.returncode == 1
        assert f"lockstep is already running for {tmp_path / 'Tiltfile'} (pid {first.proc.pid})" in second.stderr
        assert first.proc.poll() is None and "dashboard at" not in first.log_text()  # still evaluating
        t0 = time.monotonic()
        down = subprocess.run([f"{VENV_BIN}/lockstep", "down", "-f", str(tmp_path / "Tiltfile")],
                              env=first.env, capture_output=True, text=True, timeout=40)
        assert down.returncode == 0 and f"stopped pid {first.proc.pid}" in down.stdout, down.stdout
        assert first.proc.wait(10) == 0 and time.monotonic() - t0 < 15
        assert not lock_held(sdir) and not (sdir / PIDFILE).exists()


@pytest.mark.parametrize("command", ["up", "ci"])
def test_read_only_state_dir_is_one_clear_error_before_anything_starts(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state"
    state.mkdir()
    if os.geteuid() == 0:
        # Root ignores mode bits: a read-only mount is what stops it.
        res = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(state)],
                             capture_output=True, text=True)
        if res.returncode != 0:
            pytest.skip(f"cannot mount a read-only tmpfs here: {res.stderr.strip()}")
    else:
        state.chmod(0o500)
    monkeypatch.setenv("LOCKSTEP_STATE_DIR", str(state))
    tf = tmp_path / "Tiltfile"
    tf.write_text("local('touch evaluated')\nlocal_resource('a', cmd='touch ran')\n")
    monkeypatch.chdir(tmp_path)
    try:
        assert main([command, "-f", str(tf), "--port", "0"]) == 1
    finally:
        if os.geteuid() == 0:
            subprocess.run(["umount", "-l", str(state)], check=False)
        state.chmod(0o700)
    err = capsys.readouterr().err
    assert f"lockstep {command}: cannot write lockstep's state dir {state}" in err
    assert "LOCKSTEP_STATE_DIR" in err and "Traceback" not in err and err.count("\n") == 1
    assert not (tmp_path / "evaluated").exists() and not (tmp_path / "ran").exists()


@pytest.mark.parametrize("planted", ["other-user", "symlink"])
def test_a_state_dir_someone_else_planted_is_refused_before_anything_starts(
    planted: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Under a shared LOCKSTEP_STATE_DIR another user can make our state dir first, open to all:
    our logs (secrets) and token would land in it. `up` refuses it."""
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o1777)
    monkeypatch.setenv("LOCKSTEP_STATE_DIR", str(shared))
    tf = tmp_path / "Tiltfile"
    tf.write_text("local('touch evaluated')\nlocal_resource('a', cmd='touch ran')\n")
    sdir = state_dir(tf, create=False)
    if planted == "other-user":
        if os.geteuid() != 0:
            pytest.skip("needs root to make a directory owned by another user")
        sdir.mkdir(mode=0o777)
        os.chown(sdir, 65534, 65534)
    else:
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir(mode=0o777)
        sdir.symlink_to(elsewhere)
    monkeypatch.chdir(tmp_path)
    assert main(["ci", "-f", str(tf), "--port", "0"]) == 1
    err = capsys.readouterr().err
    assert f"cannot write lockstep's state dir {sdir}" in err and "another user could read" in err
    assert "remove it, or point LOCKSTEP_STATE_DIR at a directory of your own" in err and err.count("\n") == 1
    assert not (tmp_path / "evaluated").exists() and not (tmp_path / "ran").exists()
    assert not any((tmp_path / "elsewhere").iterdir()) if planted == "symlink" else not (sdir / "logs").exists()


def test_our_own_state_dir_left_open_is_closed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCKSTEP_STATE_DIR", str(tmp_path / "state"))
    tf = tmp_path / "Tiltfile"
    tf.write_text("local_resource('a', cmd='true')\n")
    sdir = state_dir(tf)
    sdir.chmod(0o755)
    monkeypatch.chdir(tmp_path)
    assert main(["ci", "-f", str(tf), "--port", "0"]) == 0
    assert stat.S_IMODE(sdir.stat().st_mode) == 0o700


def test_a_run_that_fails_before_its_engine_runs_gives_up_its_claim(tiltfile: Path) -> None:
    """The instance is claimed before the engine is built: a failure in between must not leave
    the lock held or an up.json naming this process (the next run would call it stale)."""
    sdir = state_dir(tiltfile)
    (sdir / "logs").write_text("not a directory")  # the log store cannot be created
    with pytest.raises(OSError):
        main(["ci", "-f", str(tiltfile)])
    assert not (sdir / PIDFILE).exists()
    assert not lock_held(sdir)
    # The stop signals it held while it started have their handlers back.
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL and signal.getsignal(signal.SIGHUP) is signal.SIG_DFL
