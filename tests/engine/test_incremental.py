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
from lockstep.engine.incremental import _CONDITIONS, IncrementalScheduler
from lockstep.engine.quick import quick_conditions, view_flags
from lockstep.engine.rules import Context, holds_for, tiltfile_reload, upstream_view
from lockstep.engine.scheduler import Decision, next_updates
from lockstep.engine.snapshot import Snapshot, changed_resources, next_snapshot
from lockstep.model.resource import TriggerMode
from lockstep.model.update import Reason, ReasonKind, UpdateRecord, UpdateResult
from lockstep.store import actions as A
from lockstep.store.reducers import reduce
from lockstep.store.state import EngineState, ResourceState, RuntimeStatus


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


# -- the shortcuts, each against what it stands for ---------------------------------------------

records = st.builds(UpdateRecord, id=st.just(1), resource=st.just("r"), reasons=st.just(()), start=st.just(0.0),
                    result=st.sampled_from(UpdateResult))


@settings(max_examples=300, deadline=None)
@given(st.builds(ResourceState, name=st.just("r"), enabled=st.booleans(),
                 pending=st.sampled_from([(), (Reason(ReasonKind.INITIAL),)]), running=st.none() | records,
                 last=st.none() | records, runtime=st.sampled_from(RuntimeStatus)))
def test_view_flags_read_the_same_as_the_status_properties(s: ResourceState) -> None:
    assert view_flags(s) == (s.settled, s.failed and s.running is None)


class QuickCheck(CrossCheck):
    """Also compares the quick condition holds with every rule asked, wherever the scheduler would use them."""

    def __init__(self) -> None:
        super().__init__()
        self.quick = 0

    def __call__(self, state: EngineState) -> Decision:
        ctx = Context.of(state)
        plain = not ctx.disabled and tiltfile_reload(ctx, "") is None
        for n, s in state.statuses.items():
            if not plain or not s.pending or s.running is not None or state.topology.all_downs[n] & ctx.running:
                continue
            got = quick_conditions(s, state.topology.ups.get(n, frozenset()), ctx.clear, ctx.failed[n])
            if got is not None:
                self.quick += 1
                assert got == holds_for(ctx, n, _CONDITIONS), (state.now, n)
        return super().__call__(state)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_quick_condition_holds_equal_every_rule_asked(case: tuple[Sim, CrossCheck]) -> None:
    sim, _ = case
    check = QuickCheck()
    sim.decide = check
    sim.run(until=300)
    assert check.steps > 0


def test_the_quick_path_is_taken_and_a_wrong_one_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    import lockstep.engine.incremental as inc

    # A chain with a failure: the quick path must name the failed upstream as the rules do.
    def sim() -> Sim:
        return Sim(config(local("a"), local("b", ups=("a",)), local("c", ups=("b",)), max_parallel_updates=1),
                   fails=lambda name, k, t: name == "a" and k == 0, decide=CrossCheck())

    taken: list[str] = []
    real = inc.quick_conditions

    def counting(s, *rest):  # type: ignore[no-untyped-def]
        got = real(s, *rest)
        if got is not None:
            taken.append(s.name)
        return got

    monkeypatch.setattr(inc, "quick_conditions", counting)
    sim().run(until=50)
    assert {"b", "c"} <= set(taken)

    def forgets_failures(s, ups, clear, failed):  # type: ignore[no-untyped-def]
        return real(s, ups, clear, frozenset())

    monkeypatch.setattr(inc, "quick_conditions", forgets_failures)
    with pytest.raises(AssertionError):
        sim().run(until=50)


def test_slot_rules_never_read_the_upstream_view() -> None:
    """An epoch's context is asked after later decisions rewrote the view it points to (engine/slots.py)."""
    from lockstep.engine.incremental import _SLOTS

    state = reduce(EngineState(), loaded_action(config(local("a"), local("b", parallel=False), local("c", ups=("a",)),
                                                       max_parallel_updates=1), 0.0))
    for running, capacity in (((), 1), (("a",), 0), (("b",), 0)):
        serial = {n for n in running if n == "b"}
        # Empty views: a rule reading them would raise KeyError.
        blind = Context(state, {}, {}, set(running), frozenset(), set(running), serial, capacity)
        full = Context(state, *upstream_view(state), set(running), frozenset(), set(running), serial, capacity)
        for n in ("a", "b", "c"):
            assert holds_for(blind, n, _SLOTS) == holds_for(full, n, _SLOTS)
