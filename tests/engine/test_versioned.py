"""Frozen versions of a dict written in place read exactly as the dict was when each was frozen."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from lockstep.engine.versioned import Version, VersionedDict

keys = st.integers(0, 12)
ops = st.lists(
    st.one_of(
        st.tuples(st.just("set"), keys, st.integers(0, 3)),
        st.tuples(st.just("del"), keys, st.just(0)),
        st.tuples(st.just("freeze"), st.just(0), st.just(0)),
        st.tuples(st.just("read"), st.just(0), st.just(0)),
    ),
    max_size=120,
)


@settings(max_examples=300, deadline=None)
@given(ops)
def test_every_version_reads_as_the_dict_did_when_frozen(steps: list[tuple[str, int, int]]) -> None:
    vd: VersionedDict[int, list[int]] = VersionedDict()
    model: dict[int, list[int]] = {}
    versions: list[tuple[Version[int, list[int]], dict[int, list[int]]]] = []
    for op, k, v in steps:
        if op == "set":
            # Fresh objects, so that `is` tells which write a read sees.
            model[k] = [v]
            vd[k] = model[k]
        elif op == "del" and k in model:
            del model[k]
            del vd[k]
        elif op == "freeze":
            versions.append((vd.freeze(), dict(model)))
        elif op == "read" and versions:
            # Reading (and flattening) an old version midway must not fix anything wrongly.
            old, want = versions[len(versions) // 2]
            assert old.flat() == want
    versions.append((vd.freeze(), dict(model)))
    for version, want in versions:
        for k in range(13):
            assert version.get(k) is want.get(k)
            assert (k in version) == (k in want)
        assert dict(version.items()) == want and len(version) == len(want)


def test_freezing_twice_without_a_write_is_one_version_and_the_newest_reads_the_dict() -> None:
    vd: VersionedDict[str, int] = VersionedDict()
    vd["a"] = 1
    first = vd.freeze()
    assert vd.freeze() is first
    vd["a"] = 2
    vd["b"] = 3
    second = vd.freeze()
    del vd["a"]
    assert first.get("a") == 1 and "b" not in first
    assert second.get("a") == 2 and second["b"] == 3
    assert vd.freeze().get("a") is None and dict(vd.freeze()) == {"b": 3}
