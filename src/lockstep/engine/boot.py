"""What `up` and `ci` start before they import the engine.

The watchdog and the first Tiltfile evaluation child are separate interpreters: started
first, their own start-up (the child imports the Starlark loader) runs on another core
while this process imports the engine, instead of after it. The first evaluation itself
is asked for at once too (Evaluator.ask_ahead): by the time the engine wants it, it is
usually done. So the instance is claimed before this runs (a second `up` must not run the
Tiltfile's `local()` commands), and from the claim on `down` may signal this process:
`hold_stop_signals` keeps such a stop until run_app's handlers take it over.

This module imports nothing heavy at its top: `hold_stop_signals` runs right after the claim.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lockstep.adapters.reaper import Reaper
    from lockstep.tiltfile.isolate import Evaluator

# After an evaluation, the next spare child starts this much later: not beside the first
# updates that evaluation lets start (see Evaluator).
SPARE_REFILL_SECS = 1.0

# What tells an edit of the Tiltfile apart: (mtime in ns, size), None when it is missing.
Stamp = tuple[int, int] | None
# No stamp taken: no file has a negative size.
UNSEEN: Stamp = (-1, -1)

# The signals that stop `up` and `ci`: Ctrl-C, `down` or a CI runner, and a closed terminal
# or dropped SSH session, each with the same graceful shutdown (engine/app.py handles them
# while the engine runs). Before that they are held (hold_stop_signals): SIGINT left to raise
# KeyboardInterrupt while the engine is imported (the Tiltfile's `local()`s already running)
# would end the command with 130 instead of the graceful stop it asks for.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# Stop signals received before run_app took them over; None while none are being held.
_held: list[int] | None = None
# The handlers `hold_stop_signals` replaced, for a command that ends before run_app.
_replaced: dict[int, object] = {}


def tiltfile_stamp(path: str) -> Stamp:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


@dataclass(frozen=True)
class Boot:
    reaper: Reaper
    evaluator: Evaluator
    # The Tiltfile's stamp when its first evaluation was asked for (UNSEEN: not asked yet): an
    # edit after it restarts that evaluation (engine/app.py).
    asked: Stamp = UNSEEN

    def stop(self) -> None:
        """The command stopped before the engine ran (refused, or failed): nothing ran yet."""
        self.evaluator.cancel_all()
        self.reaper.close()


def boot(tiltfile: str | None = None, args: Sequence[str] = (), *, subcommand: str = "up") -> Boot:
    """Start the watchdog and an evaluation child; with `tiltfile`, ask for its first evaluation now."""
    from lockstep.adapters.reaper import RUN_TAG_VAR, Reaper
    from lockstep.tiltfile.isolate import Evaluator

    reaper = Reaper()
    # Each evaluation runs in a child bounded in memory and time; the run tag lets the
    # reaper find what its local() commands left behind if lockstep is killed. `ci` keeps no
    # spare child: it evaluates again only if the Tiltfile is edited while it runs, and a
    # spare would import the loader (0.1 s of CPU) beside its updates for nothing.
    evaluator = Evaluator(env={RUN_TAG_VAR: reaper.tag}, warm=subcommand != "ci", refill_secs=SPARE_REFILL_SECS)
    asked = UNSEEN
    if tiltfile is not None:
        asked = tiltfile_stamp(tiltfile)  # before the child can read it: a later edit is seen as one
        evaluator.ask_ahead(tiltfile, args, subcommand=subcommand)
    # The evaluation child first: it is on the way to the first command start, the watchdog
    # is not. It runs nothing of the Tiltfile's before its imports (tens of ms), and dies
    # with this process (parent-death signal) if it is killed in between.
    reaper.start()
    return Boot(reaper, evaluator, asked)


def hold_stop_signals() -> None:
    """From here until `held_stop_signals()`, SIGINT, SIGTERM and SIGHUP are remembered, not fatal.

    Their default action (KeyboardInterrupt for SIGINT) ends the process at once, before the engine has handlers: the
    watchdog would still stop what it started, but nothing would be shut down in order.
    Remembered, they become the graceful stop as soon as run_app takes them over."""
    global _held
    if _held is None:
        _held = []
    for sig in STOP_SIGNALS:
        previous = signal.signal(sig, _remember)
        if previous is not _remember:
            _replaced[sig] = previous


def _remember(signum: int, frame: FrameType | None) -> None:
    if _held is not None:
        _held.append(signum)


def held_stop_signals() -> int:
    """How many stop signals came while they were held (0 if none were held); stops holding.

    Called once run_app's own handlers are installed (they replace `_remember`)."""
    global _held
    count = len(_held) if _held is not None else 0
    _held = None
    return count


def release_stop_signals() -> None:
    """The command ends before run_app took the signals over: their handlers go back as they were."""
    global _held
    _held = None
    for sig, previous in list(_replaced.items()):
        signal.signal(sig, previous)  # type: ignore[arg-type]
    _replaced.clear()
