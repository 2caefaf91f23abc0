"""`evolve` gives what `dataclasses.replace` gives, for the classes the reducers copy."""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lockstep.engine.snapshot import Snapshot
from lockstep.model.update import Reason, ReasonKind, UpdateRecord, UpdateResult
from lockstep.store.evolve import evolve
from lockstep.store.state import EngineState, ResourceState, RuntimeStatus

_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "now": st.floats(0, 1e6),
    "finished_total": st.integers(0, 10**6),
    "config_reloading": st.booleans(),
    "history": st.just(()),
    "pending": st.lists(st.sampled_from([Reason(ReasonKind.INITIAL), Reason(ReasonKind.MANUAL)])).map(tuple),
    "pending_since": st.none() | st.floats(0, 100),
    "writers": st.frozensets(st.sampled_from("abc")),
    "runtime": st.sampled_from(RuntimeStatus),
    "restarts": st.integers(0, 5),
    "triggered": st.booleans(),
    "end": st.none() | st.floats(0, 100),
    "result": st.sampled_from(UpdateResult),
    "error": st.text(max_size=5),
    "tainted": st.booleans(),
    "version": st.integers(0, 10**6),
    "topology_changed": st.booleans(),
    "changed": st.frozensets(st.sampled_from("abc")),
}


def _changes(cls: type) -> st.SearchStrategy[dict[str, Any]]:
    names = [f.name for f in fields(cls) if f.name in _VALUES]
    return st.lists(st.sampled_from(names), unique=True).flatmap(
        lambda chosen: st.fixed_dictionaries({n: _VALUES[n] for n in chosen}))


_OBJECTS = [EngineState(), ResourceState("r", pending=(Reason(ReasonKind.INITIAL),)), UpdateRecord(1, "r", (), 0.0),
            Snapshot(version=3)]


@given(st.sampled_from(_OBJECTS).flatmap(lambda obj: st.tuples(st.just(obj), _changes(type(obj)))))
def test_evolve_equals_replace(case: tuple[Any, dict[str, Any]]) -> None:
    obj, changes = case
    got, want = evolve(obj, **changes), replace(obj, **changes)
    assert type(got) is type(want)
    assert got == want
    assert vars(got) == vars(want)
    # The original is untouched (frozen values are shared between snapshots).
    assert evolve(obj) == obj and vars(obj) == vars(replace(obj))


def test_an_unknown_field_is_an_error_as_with_replace() -> None:
    with pytest.raises(TypeError, match="no field"):
        evolve(ResourceState("r"), pendng=())
