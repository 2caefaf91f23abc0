"""The hub: views built when read (once per change, however many batches), served from cached text."""

from __future__ import annotations

import gzip
import json
import time
from typing import Any

import pytest
from engine_sim import config, loaded_action, local
from hypothesis import example, given, settings
from hypothesis import strategies as st

from lockstep.engine.scheduler import next_updates
from lockstep.engine.snapshot import Snapshot, next_snapshot
from lockstep.logs.store import LogSource, LogStore
from lockstep.store import actions as A
from lockstep.store.reducers import reduce
from lockstep.store.state import EngineState
from lockstep.ui import hub as hub_module
from lockstep.ui.excerpt import excerpts
from lockstep.ui.hub import Hub
from lockstep.ui.stream import HEARTBEAT
from lockstep.ui.viewmodel import resource_view


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


# -- the lazy hub against views built eagerly from the current state -------------------------

_names = st.sampled_from([f"r{i}" for i in range(4)] + ["r5"])
_steps = st.lists(st.one_of(
    st.tuples(st.just("start"), _names),
    st.tuples(st.just("finish"), _names, st.booleans()),
    st.tuples(st.just("trigger"), _names),
    st.tuples(st.just("enable"), _names, st.booleans()),
    st.tuples(st.just("reload"), st.integers(3, 6)),
    st.tuples(st.just("log"), _names),
    st.tuples(st.just("read"), st.booleans()),
), max_size=40)


def _eager(engine: _Engine) -> list[Any]:
    """Every view built from scratch from the engine's current snapshot, in order."""
    state, holds = engine.snapshot.state, engine.snapshot.decision.holds
    fresh = excerpts(engine.logs)
    return [fresh.add_to(resource_view(state.resources[n], state.statuses[n], tuple(holds.get(n, ()))))
            for n in state.topology.order if n in state.resources]


@settings(max_examples=200, deadline=None)
@given(_steps)
# A failure read before its output arrived, then read again; a removal between two reads.
@example([("start", "r0"), ("finish", "r0", False), ("read", True), ("log", "r0"), ("read", False)])
@example([("read", False), ("reload", 4), ("start", "r1"), ("read", False), ("reload", 6), ("read", True)])
def test_lazy_views_and_deltas_equal_views_built_eagerly(steps: list[tuple[Any, ...]]) -> None:
    def defined(n: int) -> A.ConfigLoaded:
        return loaded_action(config(*(local(f"r{i}", ups=(f"r{i - 1}",) if i % 2 else ())
                                      for i in range(n)), max_parallel_updates=2), t)

    t = 0.0
    engine = _Engine()
    engine.apply(defined(6))
    hub = Hub(engine)  # type: ignore[arg-type]
    # A stream client: the views it holds, patched by each delta it reads.
    client: dict[str, Any] = {v["name"]: v for v in hub.views()}
    seq, ids, finished = hub.seq, 0, 0
    for step in steps:
        t += 1.0
        state = engine.state
        match step:
            case ("start", name) if name in state.statuses and state.statuses[name].running is None:
                ids += 1
                engine.apply(A.UpdateStarted(ids, name, t))
            case ("finish", name, ok) if name in state.statuses and state.statuses[name].running is not None:
                running = state.statuses[name].running
                assert running is not None
                engine.apply(A.UpdateFinished(running.id, name, ok, t, "" if ok else "exit 1"))
            case ("trigger", name):
                engine.apply(A.Trigger(name, t))
            case ("enable", name, on):
                engine.apply(A.SetEnabled(name, on, t))
            case ("reload", n):
                engine.apply(defined(n))
            case ("log", name) if name in state.statuses:
                # Output of its last update arriving late (within that update's time span).
                last = state.statuses[name].last
                at = (last.start + last.end) / 2 if last is not None and last.end is not None else t
                engine.logs.append(name, LogSource.BUILD, f"error: line {t}", at)
            case ("read", whole):
                if whole:
                    assert hub.views() == _eager(engine)
                delta = hub.delta_since(seq, finished)
                for gone in delta.removed:
                    client.pop(gone, None)
                client.update((v["name"], v) for v in delta.changed)
                assert [json.loads(text) for text in delta.changed_text] == delta.changed
                seq, finished = delta.seq, delta.finished_total
    delta = hub.delta_since(seq, finished)
    for gone in delta.removed:
        client.pop(gone, None)
    client.update((v["name"], v) for v in delta.changed)
    want = _eager(engine)
    assert hub.views() == want
    assert [client[v["name"]] for v in want] == want and len(client) == len(want)
    assert json.loads(hub.resources_json()) == want
