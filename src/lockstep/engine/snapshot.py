"""What every subscriber of the engine receives after a batch: one consistent value.

The state and the scheduler's decision *for that very state* travel together,
with what changed since the previous snapshot, so no subscriber ever reads the
engine behind its argument, and a subscriber that keeps derived data (the view
hub, an incremental scheduler) can redo only the changed part.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from lockstep.engine.scheduler import Decision
from lockstep.model.pmap import changed_keys
from lockstep.store.evolve import evolve
from lockstep.store.state import EngineState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Snapshot:
    state: EngineState = field(default_factory=EngineState)
    decision: Decision = field(default_factory=Decision)
    # Resources whose definition, state or hold reasons differ from the previous
    # snapshot, removed resources included.
    changed: frozenset[str] = frozenset()
    # The graph (declared + inferred edges, hence the order) differs.
    topology_changed: bool = False
    # Increases by one per published snapshot.
    version: int = 0


def changed_resources(prev: Snapshot, state: EngineState, decision: Decision) -> frozenset[str]:
    """Names whose view may differ: states are frozen, so identity tells what cannot have changed."""
    old_holds = prev.decision.holds
    if prev.state.resources is state.resources and decision.touched is not None:
        moved = changed_keys(prev.state.statuses, state.statuses)
        if moved is not None:
            # The scheduler says whose hold entries it may have rewritten; a name whose status
            # moved is in already (most touched names: the ones that started or finished).
            names = set(moved)
            new_holds = decision.holds
            for n in decision.touched:
                if n not in names:
                    old, new = old_holds.get(n, ()), new_holds.get(n, ())
                    if old is not new and old != new:
                        names.add(n)
            return frozenset(names)
    out: set[str] = set()
    old_res, old_rs = prev.state.resources, prev.state.statuses
    for name, r in state.resources.items():
        if (
            old_res.get(name) is not r
            or old_rs.get(name) is not state.statuses.get(name)
            or old_holds.get(name, ()) != decision.holds.get(name, ())
        ):
            out.add(name)
    out.update(n for n in old_res if n not in state.resources)
    return frozenset(out)


def next_snapshot(prev: Snapshot, state: EngineState, decision: Decision) -> Snapshot:
    # (From the previous one rather than through the frozen dataclass's __init__: once per batch.)
    return evolve(
        prev,
        state=state,
        decision=decision,
        changed=changed_resources(prev, state, decision),
        topology_changed=prev.state.topology is not state.topology,
        version=prev.version + 1,
    )


SnapshotSubscriber = Callable[[Snapshot], None]


class Publisher:
    """Hands each snapshot to every subscriber, in subscription order, and wakes waiters."""

    def __init__(self) -> None:
        self.current = Snapshot()
        self._subscribers: list[SnapshotSubscriber] = []
        self._waiters: list[tuple[Callable[[Snapshot], bool], asyncio.Future[Snapshot]]] = []

    def subscribe(self, fn: SnapshotSubscriber) -> Callable[[], None]:
        self._subscribers.append(fn)
        return lambda: self._subscribers.remove(fn) if fn in self._subscribers else None

    def publish(self, snap: Snapshot) -> None:
        self.current = snap
        for fn in list(self._subscribers):
            try:
                fn(snap)
            except Exception:
                # A bug in one view or controller must not stop the engine
                # (and every process it supervises); it is reported, loudly.
                log.exception("internal error in a snapshot subscriber; the engine goes on")
        for predicate, fut in list(self._waiters):
            if fut.done():
                continue
            try:
                if predicate(snap):
                    fut.set_result(snap)
            except Exception as exc:
                fut.set_exception(exc)

    async def wait_for(self, predicate: Callable[[Snapshot], bool], timeout: float | None = None) -> Snapshot:
        """The first snapshot (the current one included) that satisfies predicate."""
        if predicate(self.current):
            return self.current
        fut: asyncio.Future[Snapshot] = asyncio.get_running_loop().create_future()
        entry = (predicate, fut)
        self._waiters.append(entry)
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            self._waiters.remove(entry)
