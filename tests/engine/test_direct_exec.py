"""A `cmd` string without shell syntax is exec'd without the shell, and behaves exactly as under `sh -c`.

Real processes through the real start path; the runner below only records what it was asked to start.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from lockstep.adapters.process import LineSink, ProcessHandle, ProcessSpec, Stream, SubprocessRunner
from lockstep.adapters.reaper import Reaper
from lockstep.engine.runners import LocalRunner, Outcome, UpdateJob
from lockstep.model.resource import Cmd, LocalSpec, Resource, ResourceKind


class Recording:
    """The real subprocess runner, remembering each argv it started (or failed to)."""

    def __init__(self, reaper: Reaper | None) -> None:
        self.real = SubprocessRunner(reaper)
        self.argvs: list[tuple[str, ...]] = []

    async def start(self, spec: ProcessSpec, on_line: LineSink) -> ProcessHandle:
        self.argvs.append(spec.argv)
        return await self.real.start(spec, on_line)


def run(tmp_path: Path, script: str, watched: bool = True) -> tuple[Outcome, list[str], list[tuple[str, ...]]]:
    """Run `script` as a local_resource's cmd; `watched`: with the watchdog, as `up` and `ci` run commands
    (each command exec'd itself), else through setpriv."""
    res = Resource(name="r", kind=ResourceKind.LOCAL,
                   local=LocalSpec(cmd=Cmd(("sh", "-c", script)), dir=str(tmp_path)))
    lines: list[str] = []
    argvs: list[tuple[str, ...]] = []

    def log(text: str, stream: Stream = Stream.STDOUT) -> None:
        lines.append(text)

    async def main() -> Outcome:
        if not watched:
            rec = Recording(None)
            outcome = await LocalRunner(rec).run(UpdateJob(res, 1), log)
            argvs.extend(rec.argvs)
            return outcome
        with Reaper() as reaper:
            rec = Recording(reaper)
            outcome = await LocalRunner(rec).run(UpdateJob(res, 1), log)
            assert reaper.watching
            argvs.extend(rec.argvs)
            return outcome

    outcome = asyncio.run(main())
    return outcome, lines, argvs


def executable(path: Path, text: str) -> None:
    path.write_text(text)
    os.chmod(path, 0o755)


def test_plain_words_run_without_the_shell(tmp_path: Path) -> None:
    executable(tmp_path / "show", "#!/bin/sh\necho args: \"$@\"\n")
    outcome, lines, argvs = run(tmp_path, "./show a  b=1")
    assert outcome.ok
    assert argvs == [("./show", "a", "b=1")]
    assert "args: a b=1" in lines


def test_shell_syntax_runs_under_the_shell(tmp_path: Path) -> None:
    outcome, lines, argvs = run(tmp_path, "echo one && echo two")
    assert outcome.ok
    assert argvs == [("sh", "-c", "echo one && echo two")]
    assert lines[-2:] == ["one", "two"]


@pytest.mark.parametrize("watched", [True, False])
def test_a_script_without_a_shebang_still_runs_as_the_shell_runs_it(tmp_path: Path, watched: bool) -> None:
    executable(tmp_path / "plain", "echo ran as a script\n")
    outcome, lines, argvs = run(tmp_path, "./plain", watched)
    assert outcome.ok, outcome.error
    assert argvs[0] == ("./plain",)
    if watched:
        # Exec'd itself, the script is refused (no #!): the shell then runs it, as it would have.
        assert argvs == [("./plain",), ("sh", "-c", "./plain")]
    assert "ran as a script" in lines


@pytest.mark.parametrize("watched", [True, False])
def test_a_missing_command_fails_with_the_shells_own_words(tmp_path: Path, watched: bool) -> None:
    outcome, lines, argvs = run(tmp_path, "no-such-command-here x", watched)
    assert not outcome.ok
    assert outcome.error == "cmd exited with code 127"
    assert argvs[-1] == ("sh", "-c", "no-such-command-here x")
    assert any("no-such-command-here" in line and "not found" in line for line in lines)


def test_true_and_false_alone_give_their_exit_status(tmp_path: Path) -> None:
    ok, _, argvs = run(tmp_path, "true")
    assert ok.ok and argvs == [("true",)]
    bad, _, argvs = run(tmp_path, "false")
    assert not bad.ok and bad.error == "cmd exited with code 1" and argvs == [("false",)]
