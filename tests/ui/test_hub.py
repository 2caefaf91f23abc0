"""The hub: views built when read (once per change, however many batches), served from cached text."""

from __future__ import annotations

import gzip
import json
import time
from typing import Any

import pytest
from engine_sim import config, loaded_action, local

from lockstep.engine.scheduler import next_updates
from lockstep.engine.snapshot import Snapshot, next_snapshot
from lockstep.logs.store import LogSource, LogStore
from lockstep.store import actions as A
from lockstep.store.reducers import reduce
from lockstep.store.state import EngineState
from lockstep.ui import hub as hub_module
from lockstep.ui.hub import Hub
from lockstep.ui.stream import HEARTBEAT


class _Engine:
    """Only what the hub reads: subscriptions, the current snapshot, the args and the logs."""

    def __init__(self) -> None:
        self.logs = LogStore(None)
        self.args: list[str] = []
        self.snapshot = Snapshot()
        self.subscribers: list[Any] = []
        self.state = EngineState()

    def subscribe(self, fn: Any) -> Any:
        self.subscribers.append(fn)
        return lambda: None

    def apply(self, *actions: A.Action) -> Snapshot:
        for action in actions:
            self.state = reduce(self.state, action)
        self.snapshot = next_snapshot(self.snapshot, self.state, next_updates(self.state))
        for fn in self.subscribers:
            fn(self.snapshot)
        return self.snapshot


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    built: list[str] = []
    real = hub_module.resource_view

    def counting(r: Any, s: Any, holds: Any) -> Any:
        built.append(r.name)
        return real(r, s, holds)

    monkeypatch.setattr(hub_module, "resource_view", counting)
    return built


def _serial(n: int) -> _Engine:
    """n serial local resources: while one runs, every other one's hold names it."""
    engine = _Engine()
    engine.apply(loaded_action(config(*(local(f"r{i}", parallel=False) for i in range(n))), 0.0))
    return engine


def test_batches_without_a_reader_build_nothing_and_a_read_builds_each_changed_view_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = _serial(200)
    hub = Hub(engine)  # type: ignore[arg-type]
    built = _counting(monkeypatch)
    seq = hub.seq
    assert len(built) == 200
    built.clear()
    # Five updates one after the other: each batch changes the hold of every waiting resource.
    for i in range(5):
        engine.apply(A.UpdateStarted(i + 1, f"r{i}", 1.0 + i))
        snap = engine.apply(A.UpdateFinished(i + 1, f"r{i}", True, 1.5 + i))
        assert len(snap.changed) > 150
    assert built == []
    delta = hub.delta_since(seq, 0)
    assert sorted(built) == sorted(set(built)) and len(built) == 200  # each once, not once per batch
    assert len(delta.changed) == 200
    assert [v["name"] for v in delta.changed] == [f"r{i}" for i in range(200)]  # topological order


def test_delta_holds_only_what_changed_as_text_and_views(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = _Engine()
    engine.apply(loaded_action(config(*(local(f"r{i}") for i in range(300)), max_parallel_updates=300), 0.0))
    hub = Hub(engine)  # type: ignore[arg-type]
    seq = hub.seq
    engine.apply(A.UpdateStarted(1, "r250", 1.0), A.UpdateStarted(2, "r7", 1.0))
    built = _counting(monkeypatch)
    delta = hub.delta_since(seq, 0)
    assert sorted(built) == ["r250", "r7"]
    assert [v["name"] for v in delta.changed] == ["r7", "r250"]
    assert [json.loads(t) for t in delta.changed_text] == delta.changed
    msg = json.loads(delta.message())
    assert msg["type"] == "delta" and msg["changed"] == delta.changed and msg["removed"] == []
    assert hub.delta_since(delta.seq, 0).empty
    # Reading again without a change builds nothing.
    built.clear()
    assert hub.delta_since(delta.seq, 0).changed == [] and built == []
    # A resource removed by a reload shows in `removed`, once.
    engine.apply(loaded_action(config(*(local(f"r{i}") for i in range(299))), 2.0))
    gone = hub.delta_since(delta.seq, 0)
    assert gone.removed == ["r299"] and "r299" not in json.loads(hub.resources_json())[-1]["name"]


def test_view_body_plain_and_gzip_match_the_views() -> None:
    engine = _serial(300)
    hub = Hub(engine)  # type: ignore[arg-type]
    tail = {"now": 3.0, "seq": hub.seq, "storage_error": None}
    plain = hub.view_body(tail, gzip=False)
    assert json.loads(plain) == {"resources": hub.views(), **tail}
    assert gzip.decompress(hub.view_body(tail, gzip=True)) == plain
    engine.apply(A.UpdateStarted(1, "r3", 1.0))
    after = json.loads(gzip.decompress(hub.view_body(tail, gzip=True)))
    assert after["resources"] == hub.views() and after["resources"][3]["update_status"] == "in_progress"
    assert json.loads(hub.resources_json()) == hub.views()


def test_a_failure_whose_output_arrives_after_the_build_gets_its_excerpt() -> None:
    engine = _Engine()
    engine.apply(loaded_action(config(local("a")), 0.0))
    hub = Hub(engine)  # type: ignore[arg-type]
    engine.apply(A.UpdateStarted(1, "a", 1.0), A.UpdateFinished(1, "a", False, 2.0, error="cmd exited with code 2"))
    seq = hub.seq
    assert hub.views()[0]["excerpt"] == []
    engine.logs.append("a", LogSource.BUILD, "config.yaml: ERROR: mapping values are not allowed", 1.5)
    delta = hub.delta_since(seq, 0)
    assert [v["excerpt"] for v in delta.changed] == [["config.yaml: ERROR: mapping values are not allowed"]]


def test_a_costly_build_paces_the_next_one() -> None:
    hub = Hub(_serial(3))  # type: ignore[arg-type]
    hub._build_cost, hub._built_at = 0.0001, time.perf_counter()
    assert hub.pace() == 0.0  # one trigger's worth of views: never delayed
    hub._build_cost, hub._built_at = 0.1, time.perf_counter()
    assert 0.0 < hub.pace() <= 2 * 0.1
    # However costly the build, a paced stream still hears from the server within its heartbeat interval.
    hub._build_cost, hub._built_at = 5.0, time.perf_counter()
    assert 0.0 < hub.pace() <= hub_module.MAX_PACE_DELAY < HEARTBEAT
    hub._built_at -= 10
    assert hub.pace() == 0.0
