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
