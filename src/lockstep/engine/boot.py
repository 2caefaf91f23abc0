"""What `up` and `ci` start before they import the engine.

The watchdog and the first Tiltfile evaluation child are separate interpreters: started
first, their own start-up (the child imports the Starlark loader) runs on another core
while this process imports the engine, instead of after it.
"""

from __future__ import annotations

from dataclasses import dataclass

from lockstep.adapters.reaper import RUN_TAG_VAR, Reaper
from lockstep.tiltfile.isolate import Evaluator

# After an evaluation, the next spare child starts this much later: not beside the first
# updates that evaluation lets start (see Evaluator).
SPARE_REFILL_SECS = 1.0


@dataclass(frozen=True)
class Boot:
    reaper: Reaper
    evaluator: Evaluator

    def stop(self) -> None:
        """The command stopped before the engine ran (refused, or failed): nothing ran yet."""
        self.evaluator.cancel_all()
        self.reaper.close()


def boot() -> Boot:
    reaper = Reaper()
    reaper.start()
    # Each evaluation runs in a child bounded in memory and time; the run tag lets the
    # reaper find what its local() commands left behind if lockstep is killed.
    evaluator = Evaluator(env={RUN_TAG_VAR: reaper.tag}, warm=True, refill_secs=SPARE_REFILL_SECS)
    return Boot(reaper, evaluator)
