"""Load-time commands can be cancelled: stopping lockstep never waits for a slow local()."""

from __future__ import annotations

import os
import threading

import pytest
from upproc import wait_until

from lockstep.tiltfile import commands


def test_cancel_all_kills_a_running_command_and_refuses_new_ones() -> None:
    commands.reset()
    outcome: list[object] = []

    def evaluate() -> None:
        try:
            outcome.append(commands.run(["sh", "-c", "sleep 120 & sleep 120"], cwd="/", env=os.environ))
        except commands.CommandCancelled as exc:
            outcome.append(exc)

    worker = threading.Thread(target=evaluate)
    worker.start()
    wait_until(lambda: commands._running, timeout=10, what="the command to start")
    commands.cancel_all()
    worker.join(10)
    assert not worker.is_alive() and isinstance(outcome[0], commands.CommandCancelled)
    with pytest.raises(commands.CommandCancelled):
        commands.run(["true"], cwd="/", env=os.environ)
    commands.reset()
    assert commands.run(["echo", "again"], cwd="/", env=os.environ).stdout == "again\n"


def test_a_new_evaluation_runs_commands_again_after_a_cancel(tiltfile) -> None:  # type: ignore[no-untyped-def]
    commands.cancel_all()  # as if lockstep were stopping; load() starts a new evaluation...
    r = tiltfile("local('echo hi')\n")
    assert r.ok and r.printed == ("hi",)  # ...so commands run again
