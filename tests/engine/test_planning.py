"""The planning functions the engine and the simulation share."""

from __future__ import annotations

import itertools

from engine_sim import config, loaded_action, local

from lockstep.engine.planning import RuntimePlan, plan_runtimes, plan_starts
from lockstep.engine.serve import ServeController
from lockstep.store import actions as A
from lockstep.store.reducers import reduce
from lockstep.store.state import EngineState


def test_plan_starts_marks_each_start_running_before_handing_out_its_job() -> None:
    s = reduce(EngineState(), loaded_action(config(local("a"), local("b"), local("c", ups=("a",))), 0.0))
    seen: list[EngineState] = []

    def apply(action: A.Action) -> EngineState:
        nonlocal s
        s = reduce(s, action)
        seen.append(s)
        return s

    decision, after, jobs = plan_starts(s, 1.0, itertools.count(41), apply)
    assert decision.starts == ("a", "b") and [j.update_id for j in jobs] == [41, 42]
    assert [j.resource.name for j in jobs] == ["a", "b"]
    assert after.statuses["a"].running is not None and after.statuses["b"].running is not None
    assert seen[0].statuses["a"].running is not None and seen[0].statuses["b"].running is None


def _served(*names: str) -> EngineState:
    return reduce(EngineState(), loaded_action(config(*(local(n, serve=True) for n in names), local("plain")), 0.0))


def _done(s: EngineState, name: str, uid: int) -> EngineState:
    return reduce(reduce(s, A.UpdateStarted(uid, name, 0.0)), A.UpdateFinished(uid, name, True, 1.0))


def test_plan_runtimes() -> None:
    serves = ServeController.serves
    s = _done(_done(_done(_served("web", "api"), "web", 1), "api", 2), "plain", 3)
    assert plan_runtimes(s, serves, {}) == RuntimePlan(start=(("web", 1), ("api", 2)))
    # Already supervising this update: nothing to do; an older update: restart.
    assert plan_runtimes(s, serves, {"web": 1, "api": 0}) == RuntimePlan(start=(("api", 2),))
    # Ready runtimes need nothing.
    ready = reduce(reduce(s, A.RuntimeReady("web", True, 2.0)), A.RuntimeReady("api", True, 2.0))
    assert plan_runtimes(ready, serves, {"web": 1, "api": 2}) == RuntimePlan()
    # Disabled, or gone from the Tiltfile: stop.
    off = reduce(ready, A.SetEnabled("web", False, 3.0))
    assert plan_runtimes(off, serves, {"web": 1, "api": 2}) == RuntimePlan(stop=("web",))
    gone = reduce(ready, loaded_action(config(local("api", serve=True)), 3.0))
    assert plan_runtimes(gone, serves, {"web": 1, "api": 2}).stop == ("web",)
    # A controller that handles nothing plans nothing, even for resources in STARTING.
    assert plan_runtimes(s, lambda r: False, {}) == RuntimePlan()
