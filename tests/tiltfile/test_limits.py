"""What a Tiltfile reads is bounded: regular files only, at most MAX_READ_BYTES, and
at most as much command output."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from lockstep.model.resource import LoadResult
from lockstep.tiltfile import limits


def messages(result: LoadResult) -> list[str]:
    return [d.message for d in result.errors]


@pytest.fixture
def small_limit(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(limits, "MAX_READ_BYTES", 4096)
    return 4096


@pytest.mark.timeout(30)
def test_read_file_of_a_fifo_is_refused_at_once(tiltfile, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    os.mkfifo(tmp_path / "pipe")
    started = time.monotonic()
    r = tiltfile("read_file('pipe')\n")
    assert time.monotonic() - started < 10  # it used to block for ever, waiting for a writer
    assert not r.ok
    assert "pipe is not a regular file (a FIFO)" in messages(r)[0]
    assert r.errors[0].location is not None and r.errors[0].location.line == 1
    assert "regular file" in r.errors[0].hint


@pytest.mark.timeout(30)
def test_read_file_of_dev_zero_is_refused(tiltfile) -> None:  # type: ignore[no-untyped-def]
    r = tiltfile("read_yaml('/dev/zero')\n")
    assert not r.ok and "/dev/zero is not a regular file (a character device)" in messages(r)[0]


def test_an_oversized_file_is_an_error_with_the_limit(tiltfile, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                       small_limit: int) -> None:
    (tmp_path / "big.yaml").write_text("x" * (small_limit + 1))
    (tmp_path / "fits.txt").write_text("y" * small_limit)
    assert tiltfile("s = read_file('fits.txt')\nif len(s) != 4096: fail('short')\n").ok
    r = tiltfile("read_file('big.yaml')\n")
    assert not r.ok and "big.yaml is larger than the 4096 bytes limit" in messages(r)[0]
    r = tiltfile("k8s_yaml('big.yaml')\n")
    assert not r.ok and "larger than the 4096 bytes limit" in messages(r)[0]


def test_a_loaded_file_and_the_tiltfile_itself_are_bounded_too(tiltfile, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                small_limit: int) -> None:
    r = tiltfile("load('lib.star', 'x')\n", files={"lib.star": "x = 1\n" + "#" * small_limit})
    assert not r.ok and "lib.star is larger than the 4096 bytes limit" in messages(r)[0]
    r = tiltfile("#" * (small_limit + 1))
    assert not r.ok and "Tiltfile is larger than the 4096 bytes limit" in messages(r)[0]


def test_a_tiltfile_that_is_a_fifo_is_refused(tmp_path: Path) -> None:
    from lockstep.tiltfile import load

    os.mkfifo(tmp_path / "Tiltfile")
    r = load(str(tmp_path), timeout=5)
    assert not r.ok and "is not a regular file (a FIFO)" in r.errors[0].message


@pytest.mark.timeout(60)
def test_local_output_is_capped_and_the_command_stopped(tiltfile, small_limit: int) -> None:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    r = tiltfile("local('yes')\n")  # never ends on its own
    assert time.monotonic() - started < 30
    assert not r.ok
    assert "command 'sh -c yes' wrote more than the 4096 bytes limit to stdout" in messages(r)[0]
    assert r.errors[0].location is not None and r.errors[0].location.line == 1


def test_local_within_the_limit_keeps_stdin_stdout_and_the_stderr_tail(tiltfile) -> None:  # type: ignore[no-untyped-def]
    r = tiltfile("s = local('cat', stdin='hello')\nif s != 'hello': fail(repr(s))\n")
    assert r.ok, messages(r)
    # stderr is drained beside stdout (a full stderr pipe would otherwise stall the command)
    r = tiltfile("local('head -c 200000 /dev/zero | tr \"\\\\0\" e >&2; echo boom >&2; exit 3')\n")
    assert not r.ok and messages(r)[0].endswith("boom")


@pytest.mark.timeout(30)
def test_compose_files_and_tilt_config_json_are_regular_files_only(tiltfile, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    os.mkfifo(tmp_path / "compose.yaml")
    r = tiltfile("docker_compose('compose.yaml')\n")
    assert not r.ok and "compose.yaml is not a regular file (a FIFO)" in messages(r)[0]
    os.mkfifo(tmp_path / "tilt_config.json")
    r = tiltfile("config.define_string('x')\nconfig.parse()\n")
    assert not r.ok and "tilt_config.json is not a regular file (a FIFO)" in messages(r)[0]
