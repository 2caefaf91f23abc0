"""Snapshots: one (state, decision, changed resources, topology changed) value per batch."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from engine_sim import config, loaded_action, local
from enginerig import Gate, running

from lockstep.engine.clock import FakeClock
from lockstep.engine.scheduler import next_updates
from lockstep.engine.snapshot import Snapshot, next_snapshot
from lockstep.model.update import HoldKind
from lockstep.store import actions as A
from lockstep.store.reducers import reduce
from lockstep.store.state import EngineState
from lockstep.ui import hub as hub_module
from lockstep.ui.hub import Hub


def _snap_after(prev: Snapshot, state: EngineState) -> Snapshot:
    return next_snapshot(prev, state, next_updates(state))


def test_change_set_names_exactly_the_touched_resources() -> None:
    s0 = reduce(EngineState(), loaded_action(config(local("a"), local("b", ups=("a",)), local("c")), 0.0))
    first = _snap_after(Snapshot(), s0)
    assert first.changed == {"a", "b", "c"} and first.topology_changed and first.version == 1
    s1 = reduce(s0, A.UpdateStarted(1, "c", 1.0))
    second = _snap_after(first, s1)
    assert second.changed == {"c"} and not second.topology_changed and second.version == 2
    # Removing b changes b (gone) and the graph.
    s2 = reduce(s1, loaded_action(config(local("a"), local("c")), 2.0))
    third = _snap_after(second, s2)
    assert "b" in third.changed and third.topology_changed


def test_a_hold_change_alone_is_a_change() -> None:
    s1 = reduce(EngineState(), loaded_action(config(local("a"), local("b", ups=("a",))), 0.0))
    prev = _snap_after(Snapshot(), s1)
    assert prev.decision.holds["b"]
    # Same state objects, a different decision for b.
    assert next_snapshot(prev, s1, prev.decision).changed == frozenset()
    assert "b" in next_snapshot(prev, s1, type(prev.decision)()).changed


def test_subscribers_get_the_decision_taken_on_their_state(tmp_path: Path) -> None:
    async def main() -> None:
        clock, gate = FakeClock(), Gate()
        engine, task = await running(config(local("a"), local("b", ups=("a",))), gate, clock, tmp_path)
        seen: list[Snapshot] = []
        engine.subscribe(seen.append)
        snap = await engine.wait_for(lambda s: "a" in s.state.statuses and s.state.statuses["a"].running is not None, 5)
        assert {h.kind for h in snap.decision.holds["b"]} == {HoldKind.WAITING_ON_UPSTREAM}
        gate.release(1)
        snap = await engine.wait_for(lambda s: s.state.statuses["b"].running is not None, 5)
        assert "b" not in snap.decision.holds
        assert [s.version for s in seen] == list(range(seen[0].version, seen[0].version + len(seen)))
        gate.release(2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())


class _EngineStub:
    """Only what the hub reads: subscriptions, the current snapshot, the args and the logs."""

    def __init__(self) -> None:
        from lockstep.logs.store import LogStore

        self.logs = LogStore(None)
        self.args: list[str] = []
        self.snapshot = Snapshot()
        self.subscribers: list[Any] = []

    def subscribe(self, fn: Any) -> Any:
        self.subscribers.append(fn)
        return lambda: None

    def publish(self, state: EngineState) -> Snapshot:
        self.snapshot = _snap_after(self.snapshot, state)
        for fn in self.subscribers:
            fn(self.snapshot)
        return self.snapshot


def test_the_hub_rebuilds_only_what_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = _EngineStub()
    hub = Hub(engine)  # type: ignore[arg-type]
    built: list[str] = []
    real = hub_module.resource_view

    def counting(r: Any, s: Any, holds: Any) -> Any:
        built.append(r.name)
        return real(r, s, holds)

    monkeypatch.setattr(hub_module, "resource_view", counting)
    loaded = config(*(local(f"r{i}") for i in range(50)), max_parallel_updates=100)
    state = reduce(EngineState(), loaded_action(loaded, 0.0))
    engine.publish(state)
    assert built == []  # views are built when read, not per batch
    assert len(hub.views()) == 50 and len(built) == 50
    built.clear()
    seq = hub.seq
    engine.publish(reduce(state, A.UpdateStarted(1, "r7", 1.0)))
    assert [v["name"] for v in hub.delta_since(seq, 0).changed] == ["r7"]
    assert built == ["r7"]
