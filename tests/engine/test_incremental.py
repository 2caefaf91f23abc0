"""Property test: the incremental scheduler decides exactly what `next_updates` decides from scratch.

Random DAGs and random action sequences (edits, undeclared writers, failures,
servers that crash, triggers, disables), each step decided both ways.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from engine_sim import Sim, config, local
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lockstep.engine.ci import CiTracker, ci_verdict
from lockstep.engine.incremental import IncrementalScheduler
from lockstep.engine.scheduler import Decision, next_updates
from lockstep.engine.snapshot import Snapshot, changed_resources, next_snapshot
from lockstep.model.resource import TriggerMode
from lockstep.store import actions as A
from lockstep.store.state import EngineState


class CrossCheck:
    def __init__(self) -> None:
        self.inc = IncrementalScheduler()
        self.steps = 0
        self.snap = Snapshot()

    def __call__(self, state: EngineState) -> Decision:
        got, want = self.inc.decide(state), next_updates(state)
        assert got.starts == want.starts, (state.now, got.starts, want.starts)
        assert dict(got.holds) == dict(want.holds), (state.now, got.holds, want.holds)
        assert got.wake_at == want.wake_at
        # The change set from the scheduler's `touched` equals the one from a full comparison.
        fast = next_snapshot(self.snap, state, got)
        assert fast.changed == changed_resources(self.snap, state, replace(got, touched=None)), state.now
        self.snap = fast
        self.steps += 1
        return got


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Sim, CrossCheck]:
    n = draw(st.integers(1, 25))
    resources = []
    for i in range(n):
        ups = tuple(sorted(draw(st.sets(st.integers(0, i - 1), max_size=3)) if i else set()))
        r = local(f"r{i}", deps=(f"src{i}",), ups=tuple(f"r{u}" for u in ups), parallel=draw(st.booleans()),
                  serve=draw(st.integers(0, 3)) == 0)
        if draw(st.integers(0, 5)) == 0:
            r = replace(r, trigger_mode=TriggerMode.MANUAL)
        resources.append(r)
    durations = draw(st.lists(st.floats(0.05, 3.0), min_size=n, max_size=n))
    fail_set = draw(st.sets(st.tuples(st.integers(0, n - 1), st.integers(0, 3)), max_size=4))
    writers = {}
    if n >= 2 and draw(st.booleans()):
        w, r2 = draw(st.sampled_from([(a, b) for a in range(n) for b in range(n) if a < b]))
        writers[f"r{w}"] = (f"src{r2}/generated",)
    check = CrossCheck()
    sim = Sim(
        config(*resources, max_parallel_updates=draw(st.integers(1, 4))),
        duration=lambda name, k: durations[int(name[1:])] * (1 + (k % 3) * 0.5),
        fails=lambda name, k, t: (int(name[1:]), k) in fail_set,
        writes=writers,
        evidence=draw(st.booleans()),
        decide=check,
    )
    for t, i in draw(st.lists(st.tuples(st.floats(0.0, 40.0), st.integers(0, n - 1)), max_size=30)):
        sim.edit(t, f"src{i}/file.txt")
    for t, i in draw(st.lists(st.tuples(st.floats(0.0, 40.0), st.integers(0, n - 1)), max_size=5)):
        sim.at(t, A.Trigger(f"r{i}", t))
    for t, i, on in draw(st.lists(st.tuples(st.floats(0.0, 40.0), st.integers(0, n - 1), st.booleans()), max_size=5)):
        sim.at(t, A.SetEnabled(f"r{i}", on, t))
    return sim, check


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_incremental_decision_equals_the_decision_from_scratch(case: tuple[Sim, CrossCheck]) -> None:
    sim, check = case
    sim.run(until=300)
    assert check.steps > 0


class ForgetsUpstreams(IncrementalScheduler):
    """A broken scheduler: it never re-derives the upstream view."""

    def _propagate_view(self, state: EngineState, changed: set[str]) -> set[str]:
        return set()


def test_the_cross_check_catches_a_scheduler_that_forgets_a_change() -> None:
    check = CrossCheck()
    check.inc = ForgetsUpstreams()
    sim = Sim(config(local("a"), local("b", ups=("a",))), decide=check)
    with pytest.raises(AssertionError):
        sim.run(until=10)


class VerdictCheck:
    """Decides from scratch, and compares the ci tracker with `ci_verdict` on every snapshot."""

    def __init__(self) -> None:
        self.tracker = CiTracker()
        self.snap = Snapshot()
        self.done = 0

    def __call__(self, state: EngineState) -> Decision:
        decision = next_updates(state)
        self.snap = next_snapshot(self.snap, state, decision)
        want = ci_verdict(state, decision).done
        assert self.tracker.done(self.snap) == want, (state.now, ci_verdict(state, decision).summary)
        self.done += want
        return decision


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_ci_tracker_equals_the_verdict_from_scratch(case: tuple[Sim, CrossCheck]) -> None:
    sim, _ = case
    check = VerdictCheck()
    sim.decide = check
    sim.run(until=300)
