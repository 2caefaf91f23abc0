"""PMap behaves as an immutable dict, and `changed_keys` never misses a change (checked against plain dicts)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from lockstep.model.pmap import PMap, changed_keys, set_since

keys = st.integers(0, 60)
ops = st.lists(
    st.tuples(st.dictionaries(keys, st.integers(0, 3), max_size=5), st.lists(keys, max_size=3)), max_size=200
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(keys, st.integers(0, 3), max_size=50), ops)
def test_pmap_equals_the_dict_it_models_after_every_update(start: dict[int, int], steps: list) -> None:
    model = dict(start)
    m = PMap(start)
    versions = [(m, dict(model))]
    for changes, removed in steps:
        # Fresh value objects, so that identity tells a change as the engine's frozen values do.
        boxed = {k: [v] for k, v in changes.items()}
        prev, prev_model = m, model
        m = m.update(boxed, removed)  # type: ignore[arg-type]
        model = dict(model)
        for k in removed:
            model.pop(k, None)
        model.update(boxed)  # type: ignore[arg-type]
        assert len(m) == len(model)
        assert m == model and dict(m.items()) == model and list(m) == list(m.keys())
        for k in range(61):
            assert (k in m) == (k in model)
            assert m.get(k) is model.get(k)
        diff = changed_keys(prev, m)
        truly = {k for k in prev_model.keys() | model.keys() if prev_model.get(k, "-") is not model.get(k, "-")}
        # The keys set in the step: never fewer than the changed ones, and known one step apart.
        stepped = set_since(prev, m)
        assert stepped is not None and truly <= stepped
        if diff is not None:
            assert truly <= set(diff)
        else:
            assert prev_model.keys() != model.keys()
        versions.append((m, model))
        # Several steps apart (the chain of steps, or the overlays once it is cut).
        old, old_model = versions[max(0, len(versions) - 5)]
        diff = changed_keys(old, m)
        truly = {k for k in old_model.keys() | model.keys() if old_model.get(k, "-") is not model.get(k, "-")}
        assert (diff is None and old_model.keys() != model.keys()) or truly <= set(diff or [])
    # Older versions are untouched by later updates.
    for v, want in versions:
        assert v == want


def test_updates_share_the_base_until_the_overlay_is_folded() -> None:
    base = PMap({i: str(i) for i in range(10_000)})
    m = base
    for i in range(50):
        m = m.set(i, "x")
    assert changed_keys(base, m) is not None and sorted(changed_keys(base, m) or []) == list(range(50))
    for i in range(50, 200):
        m = m.set(i, "y")
    # Folded (the overlay outgrew sqrt(n)): still exact, by the full comparison.
    assert sorted(changed_keys(base, m) or []) == list(range(200))
    assert len(m) == 10_000 and m[199] == "y" and m[200] == "200"


def test_removed_keys_are_gone_and_missing_ones_raise() -> None:
    m = PMap({"a": 1, "b": 2}).update({"c": 3}, removed=["a", "zz"])
    assert dict(m) == {"b": 2, "c": 3} and len(m) == 2
    assert "a" not in m and m.get("a", 9) == 9
    try:
        m["a"]
    except KeyError:
        pass
    else:
        raise AssertionError("a removed key must raise KeyError")


def test_maps_up_to_eight_steps_apart_compare_by_their_steps_and_no_more_stay_linked() -> None:
    from lockstep.model import pmap

    versions = [PMap({i: i for i in range(1000)})]
    for i in range(100):
        versions.append(versions[-1].set(i, -i))
        # The newest map reaches the last eight by its chain of steps (a window that slides),
        # not by the fallbacks.
        for back in range(1, min(pmap._CHAIN, i + 1) + 1):
            assert pmap._steps_between(versions[-1 - back], versions[-1]) == set(range(i + 1 - back, i + 1))
    # The chain behind the newest map is bounded (older maps are not kept alive by it).
    length, m = 0, versions[-1]
    while m._parent is not None:
        length, m = length + 1, m._parent
    assert length == pmap._CHAIN
