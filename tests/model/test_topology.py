"""Topology closures: bitset-backed, but the same sets the plain definition gives."""

from __future__ import annotations

import random
import tracemalloc

from engine_sim import config, loaded_action, local
from hypothesis import given, settings
from hypothesis import strategies as st

from lockstep.model.graph import transitive_upstreams
from lockstep.model.topology import NodeSet, build_topology
from lockstep.store import actions as A
from lockstep.store.reducers import reduce
from lockstep.store.state import EngineState


@st.composite
def graphs(draw: st.DrawFn) -> tuple[list[str], list[tuple[str, str]]]:
    n = draw(st.integers(0, 14))
    names = [f"n{i}" for i in range(n)]
    draw(st.randoms()).shuffle(names)  # definition order differs from the topological one
    pairs = [(names[i], names[j]) for i in range(n) for j in range(i + 1, n)]
    edges = draw(st.lists(st.sampled_from(pairs), max_size=30)) if pairs else []
    return names, edges


@settings(max_examples=200, deadline=None)
@given(graphs(), st.frozensets(st.sampled_from([f"n{i}" for i in range(16)] + ["zz"])))
def test_closures_equal_the_plain_transitive_sets(g: tuple[list[str], list[tuple[str, str]]],
                                                  other: frozenset[str]) -> None:
    names, edges = g
    t = build_topology(names, edges)
    ups_of: dict[str, list[str]] = {n: [] for n in names}
    for u, d in edges:
        ups_of[d].append(u)
    for n in names:
        want_ups = frozenset(transitive_upstreams(n, ups_of))
        want_downs = frozenset(d for d in names if n in transitive_upstreams(d, ups_of))
        got_ups, got_downs = t.all_ups[n], t.all_downs[n]
        assert got_ups == want_ups and want_ups == got_ups and hash(got_ups) == hash(want_ups)
        assert got_downs == want_downs and len(got_downs) == len(want_downs)
        assert set(got_ups) == want_ups and bool(got_ups) == bool(want_ups)
        for x in other:
            assert (x in got_ups) == (x in want_ups)
            assert t.reaches(x, n) == (x in want_ups)
        # Operators with plain sets, both sides, give what frozensets give.
        assert got_ups & other == want_ups & other and other & got_ups == other & want_ups
        assert set(other) - got_ups == set(other) - want_ups and got_ups - other == want_ups - other
        assert got_ups | other == want_ups | other and got_ups & got_downs == frozenset()
    assert t.all_ups.get("missing", frozenset()) == frozenset() and not t.reaches("missing", "n0")


def _layered(n: int, layers: int = 20) -> tuple[list[str], list[tuple[str, str]]]:
    rnd, width = random.Random(7), n // layers
    names = [f"r{layer}_{i}" for layer in range(layers) for i in range(width)]
    edges = [(f"r{layer - 1}_{j}", f"r{layer}_{i}")
             for layer in range(1, layers) for i in range(width) for j in rnd.sample(range(width), 2)]
    return names, edges


def test_closures_of_a_large_layered_graph_stay_small() -> None:
    # 3,000 resources in 20 layers hold about 1.6 million closure pairs; as sets
    # of names they took about 150 MB, as bitsets they take a few MB.
    names, edges = _layered(3000)
    tracemalloc.start()
    try:
        t = build_topology(names, edges)
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sum(len(s) for s in t.all_ups.values()) > 1_000_000
    assert held < 12_000_000, f"topology holds {held / 1e6:.1f} MB"


def test_update_records_reference_the_topology_closure_instead_of_copying_it() -> None:
    s = reduce(EngineState(), loaded_action(config(local("a"), local("b", ups=("a",)), local("c", ups=("b",))), 0.0))
    s = reduce(s, A.UpdateStarted(1, "c", 0.0))
    rec = s.statuses["c"].running
    assert rec is not None and rec.upstreams == frozenset({"a", "b"})
    assert isinstance(rec.upstreams, NodeSet)
    assert rec.to_json()["upstreams"] == ["a", "b"]
