"""The collector's settings during a run: tuned, freezing once, restored, and still collecting."""

from __future__ import annotations

import gc
import weakref

from lockstep.engine.gcpolicy import THRESHOLDS, engine_gc
from lockstep.engine.snapshot import Publisher, Snapshot
from lockstep.model.resource import LoadResult
from lockstep.store.state import EngineState


def test_threshold_during_the_run_and_restored_after() -> None:
    before = gc.get_threshold()
    pub = Publisher()
    with engine_gc(pub.subscribe):
        assert gc.get_threshold() == THRESHOLDS
    assert gc.get_threshold() == before


def test_freezes_once_after_the_first_configuration_and_unfreezes_at_the_end() -> None:
    pub = Publisher()
    assert gc.get_freeze_count() == 0
    with engine_gc(pub.subscribe):
        pub.publish(Snapshot(state=EngineState()))
        assert gc.get_freeze_count() == 0  # no configuration yet: nothing worth freezing
        config = EngineState(config=LoadResult(tiltfile="/x/Tiltfile"))
        pub.publish(Snapshot(state=config))
        frozen = gc.get_freeze_count()
        assert frozen > 0
        assert pub._subscribers == []  # a one-shot: later snapshots cost nothing
        pub.publish(Snapshot(state=config, version=2))
    assert gc.get_freeze_count() == 0


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def test_cyclic_garbage_made_during_a_run_is_still_collected() -> None:
    # A long `up` (a log flood, an idle day) must not grow: reference cycles made on the
    # loop are reclaimed by the collector's own passes, without an explicit collect.
    pub = Publisher()
    with engine_gc(pub.subscribe):
        pub.publish(Snapshot(state=EngineState(config=LoadResult(tiltfile="/x/Tiltfile"))))
        refs = []
        for i in range(3 * THRESHOLDS[0]):
            a, b = _Node(), _Node()
            a.other, b.other = b, a  # a cycle: only the collector can free it
            if i % 1000 == 0:
                refs.append(weakref.ref(a))
            del a, b
        alive = sum(r() is not None for r in refs)
    # Only the cycles made since the last young pass (at most one threshold's worth) survive.
    assert alive <= len(refs) // 2, (alive, len(refs))
