"""Flag parsing shared by the commands."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import pytest

from lockstep.cli.common import add_engine_args, add_file_arg, engine_options, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30m", 1800.0), ("90s", 90.0), ("1h30m", 5400.0), ("200ms", 0.2), ("2.5", 2.5), ("1.5s", 1.5)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "soon", "5 minutes", "ms", "1x"])
def test_bad_durations_say_what_is_expected(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="examples: 90s"):
        parse_duration(text)


def test_engine_flags_reach_the_options_built_whole_and_frozen(tmp_path: Path) -> None:
    p = argparse.ArgumentParser()
    add_file_arg(p)
    add_engine_args(p)
    args = p.parse_args(["-f", f"{tmp_path}/Tiltfile", "--quiet-window", "50ms", "--max-wait", "2s",
                         "--no-propagate-to", "b"])
    args.tiltfile_args = ["--target=x"]
    options = engine_options(args)
    assert options.tiltfile == f"{tmp_path}/Tiltfile" and tuple(options.args) == ("--target=x",)
    assert (options.quiet_secs, options.max_wait_secs) == (0.05, 2.0)
    assert options.no_propagate_to == frozenset({"b"}) and options.propagate is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.quiet_secs = 1.0  # type: ignore[misc]
    args = p.parse_args(["--no-propagate"])
    args.tiltfile_args = []
    assert engine_options(args).propagate is False


@pytest.mark.parametrize("command", ["up", "ci"])
def test_missing_tiltfile_is_an_error_not_a_wait(
    command: str, tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    from lockstep.cli.main import main

    assert main([command, "-f", f"{tmp_path}/nope/Tiltfile"]) == 1
    assert f"lockstep {command}: no Tiltfile at {tmp_path}/nope/Tiltfile" in capsys.readouterr().err


@pytest.mark.parametrize("text", ["-5", "nan", "inf", "-1s"])
def test_negative_or_endless_durations_are_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="invalid duration"):
        parse_duration(text)


@pytest.mark.parametrize("command", ["up", "ci"])
@pytest.mark.parametrize("port", ["99999", "-1", "http"])
def test_a_port_out_of_range_is_a_usage_error_not_a_traceback(
    command: str, port: str, tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    from lockstep.cli.main import main

    with pytest.raises(SystemExit) as exited:
        main([command, "-f", f"{tmp_path}/Tiltfile", "--port", port])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "invalid port" in err and "65535" in err and "Traceback" not in err


@pytest.mark.parametrize("command", ["up", "ci"])
def test_an_unknown_host_is_named_without_blaming_the_port(command: str, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from lockstep.cli.main import main

    monkeypatch.setenv("LOCKSTEP_STATE_DIR", str(tmp_path / "state"))
    # A resource that outlasts the failed bind, so the run ends on the error, not on success.
    (tmp_path / "Tiltfile").write_text("local_resource('slow', cmd='sleep 60')")
    extra = ["--timeout", "50s"] if command == "ci" else ["--port", "0"]
    assert main([command, "-f", str(tmp_path / "Tiltfile"), "--host", "no-such-host.invalid", *extra]) == 1
    err = capsys.readouterr().err
    assert "cannot serve the dashboard on no-such-host.invalid:0" in err and "check --host" in err
    if command == "up":  # a plain warning line, not Python's UserWarning with a source path
        assert "lockstep up: warning: serving on no-such-host.invalid" in err and "UserWarning" not in err
    assert "another `lockstep up`" not in err and "Traceback" not in err


@pytest.mark.parametrize("command", ["up", "ci"])
def test_a_taken_port_stops_before_the_tiltfile_runs(command: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A second project's `up` on the default port must not start its builds, then die."""
    import socket

    from lockstep.cli.main import main

    monkeypatch.setenv("LOCKSTEP_STATE_DIR", str(tmp_path / "state"))
    tf = tmp_path / "Tiltfile"
    tf.write_text(f"local('touch {tmp_path}/evaluated')\nlocal_resource('a', cmd='touch {tmp_path}/ran')\n")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main([command, "-f", str(tf), "--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert f"cannot serve the dashboard on 127.0.0.1:{port}: the port is already in use" in err
    assert not (tmp_path / "evaluated").exists() and not (tmp_path / "ran").exists()


@pytest.mark.parametrize("command", ["up", "ci"])
def test_a_tiltfile_named_in_another_case_is_suggested(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Written on a case-insensitive file system, where `tilt up` found it as `Tiltfile`.
    from lockstep.cli.main import main

    (tmp_path / "tiltfile").write_text("print('hi')\n")
    monkeypatch.chdir(tmp_path)
    assert main([command]) == 1
    assert f"no Tiltfile at {tmp_path}/Tiltfile (did you mean `lockstep {command} -f tiltfile`?)" \
        in capsys.readouterr().err


def test_check_suggests_a_tiltfile_named_in_another_case(tmp_path: Path) -> None:
    from lockstep.tiltfile import load

    (tmp_path / "tiltfile").write_text("print('hi')\n")
    result = load(str(tmp_path / "Tiltfile"))
    assert result.errors[0].hint == f"did you mean `-f {tmp_path}/tiltfile`?"
