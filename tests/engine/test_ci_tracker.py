"""The ci tracker keeps "moving" only while something has failed: the cases where that matters."""

from __future__ import annotations

from engine_sim import config, loaded_action, local

from lockstep.engine.ci import CiTracker, ci_verdict
from lockstep.engine.scheduler import next_updates
from lockstep.engine.snapshot import Snapshot, next_snapshot
from lockstep.store import actions as A
from lockstep.store.reducers import reduce
from lockstep.store.state import EngineState


class _Run:
    def __init__(self, *resources: object, parallel: int = 3) -> None:
        self.state = EngineState()
        self.snap = Snapshot()
        self.tracker = CiTracker()
        self.apply(loaded_action(config(*resources, max_parallel_updates=parallel), 0.0))  # type: ignore[arg-type]

    def apply(self, *actions: A.Action) -> bool:
        for action in actions:
            self.state = reduce(self.state, action)
        self.snap = next_snapshot(self.snap, self.state, next_updates(self.state))
        done = self.tracker.done(self.snap)
        assert done == ci_verdict(self.state, self.snap.decision).done
        return done


def test_a_failure_beside_an_update_that_started_earlier_waits_for_it() -> None:
    run = _Run(local("a"), local("b"), local("c", ups=("a",)))
    assert not run.apply(A.UpdateStarted(1, "a", 1.0), A.UpdateStarted(2, "b", 1.0))
    # a fails while b (unchanged in this batch) still runs: not final yet.
    assert not run.apply(A.UpdateFinished(1, "a", False, 2.0, "exit 1"))
    assert run.apply(A.UpdateFinished(2, "b", True, 3.0))


def test_a_recovery_then_a_second_failure_looks_at_what_moves_again() -> None:
    run = _Run(local("a"), local("b"), local("c"))
    run.apply(A.UpdateStarted(1, "a", 1.0), A.UpdateStarted(2, "b", 1.0), A.UpdateStarted(3, "c", 1.0))
    assert not run.apply(A.UpdateFinished(1, "a", False, 2.0, "exit 1"))
    run.apply(A.Trigger("a", 2.5), A.UpdateStarted(4, "a", 2.5))
    assert not run.apply(A.UpdateFinished(4, "a", True, 3.0))  # recovered: b and c still running
    # c, running since before the recovery, is moving when b fails.
    assert not run.apply(A.UpdateFinished(2, "b", False, 4.0, "exit 1"))
    assert run.apply(A.UpdateFinished(3, "c", True, 5.0))
