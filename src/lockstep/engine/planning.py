"""Planning, pure: which updates start now and which runtimes (re)start or stop.

The engine and the discrete-event simulation the property tests drive
(tests/support/engine_sim.py) both call these functions, so the tests check
the engine's own decisions, not a copy of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from lockstep.engine.runners import UpdateJob
from lockstep.engine.scheduler import Decision, next_updates
from lockstep.model.resource import Resource
from lockstep.store import actions as A
from lockstep.store.state import EngineState, RuntimeStatus

Apply = Callable[[A.Action], EngineState]


def plan_starts(
    state: EngineState, now: float, ids: Iterator[int], apply: Apply
) -> tuple[Decision, EngineState, tuple[UpdateJob, ...]]:
    """Ask the scheduler, and apply UpdateStarted for each start *before* anything runs it.

    `apply` reduces at once (the store's `apply_now`), so no one ever sees a
    snapshot in which a started update is not yet marked running. The
    scheduler already accounted for these starts (capacity, running set) while
    deciding, in topological order: no second pass.
    """
    decision = next_updates(state)
    jobs: list[UpdateJob] = []
    for name in decision.starts:
        uid = next(ids)
        state = apply(A.UpdateStarted(uid, name, now))
        s = state.statuses[name]
        assert s.running is not None
        jobs.append(UpdateJob.of(state.resources[name], uid, s.running.reasons, s.outputs))
    return decision, state, tuple(jobs)


@dataclass(frozen=True)
class RuntimePlan:
    # Supervised runtimes to stop: removed, disabled, or no longer of this kind.
    stop: tuple[str, ...] = ()
    # (resource, update id) whose runtime must be (re)started for that update.
    start: tuple[tuple[str, int], ...] = ()


def plan_runtimes(
    state: EngineState, handles: Callable[[Resource], bool], supervised: Mapping[str, int]
) -> RuntimePlan:
    """What one runtime controller must do, given the update id each supervisor it runs serves."""
    stop = []
    for name in supervised:
        s = state.statuses.get(name)
        r = state.resources.get(name)
        if s is None or r is None or not s.enabled or not handles(r):
            stop.append(name)
    start = []
    for name, r in state.resources.items():
        s = state.statuses[name]
        if not s.enabled or s.runtime is not RuntimeStatus.STARTING or not s.succeeded or s.last is None:
            continue
        if not handles(r) or name in stop:
            continue
        if supervised.get(name) == s.last.id:
            continue  # this update's runtime is already being started
        start.append((name, s.last.id))
    return RuntimePlan(tuple(stop), tuple(start))
