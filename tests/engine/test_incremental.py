"""Property test: the incremental scheduler decides exactly what `next_updates` decides from scratch.

Random DAGs and random action sequences (edits, undeclared writers, failures,
servers that crash, triggers, disables), each step decided both ways.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from engine_sim import Sim, config, loaded_action, local
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lockstep.engine.ci import CiTracker, ci_verdict
from lockstep.engine.incremental import IncrementalScheduler
from lockstep.engine.scheduler import Decision, next_updates
from lockstep.engine.snapshot import Snapshot, changed_resources, next_snapshot
from lockstep.model.resource import TriggerMode
from lockstep.store import actions as A
from lockstep.store.reducers import reduce
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


@st.composite
def crowded(draw: st.DrawFn) -> Sim:
    """Many ready resources competing for few slots, serial and parallel local updates mixed."""
    n = draw(st.integers(2, 60))
    resources = []
    for i in range(n):
        ups = (f"r{draw(st.integers(0, i - 1))}",) if i and draw(st.integers(0, 4)) == 0 else ()
        resources.append(local(f"r{i}", deps=(f"src{i}",), ups=ups, parallel=draw(st.integers(0, 3)) > 0))
    durations = draw(st.lists(st.floats(0.05, 2.0), min_size=n, max_size=n))
    sim = Sim(
        config(*resources, max_parallel_updates=draw(st.integers(1, 3))),
        duration=lambda name, k: durations[int(name[1:])],
        decide=CrossCheck(),
    )
    for t, i in draw(st.lists(st.tuples(st.floats(0.0, 20.0), st.integers(0, n - 1)), max_size=10)):
        sim.at(t, A.Trigger(f"r{i}", t))
    return sim


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(crowded())
def test_slot_holds_of_a_crowded_queue_equal_the_decision_from_scratch(sim: Sim) -> None:
    sim.run(until=300)


def test_a_pass_asks_the_rules_about_what_changed_not_every_resource_waiting_for_a_slot(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import lockstep.engine.incremental as inc
    import lockstep.engine.slots as slots

    asked: list[str] = []

    def counting(real):  # type: ignore[no-untyped-def]
        def holds_for(ctx, name, *rest):  # type: ignore[no-untyped-def]
            asked.append(name)
            return real(ctx, name, *rest)
        return holds_for

    monkeypatch.setattr(inc, "holds_for", counting(inc.holds_for))
    monkeypatch.setattr(slots, "holds_for", counting(slots.holds_for))
    sched = IncrementalScheduler()
    state = reduce(EngineState(), loaded_action(config(*(local(f"r{i}") for i in range(1000)),
                                                       max_parallel_updates=2), 0.0))
    first = sched.decide(state)
    assert first.starts == ("r0", "r1") and len(first.holds) == 998
    for i, n in enumerate(first.starts, 1):
        state = reduce(state, A.UpdateStarted(i, n, 0.0))
    sched.decide(state)
    asked.clear()
    state = reduce(state, A.UpdateFinished(1, "r0", True, 1.0))
    d = sched.decide(state)
    assert d.starts == ("r2",)
    assert d.holds.get("r999") == next_updates(state).holds["r999"]
    assert len(asked) <= 10, len(asked)
