"""Log file names: one file per resource name, reversibly."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from lockstep.logs import names


def test_code_points_and_their_hex_spelling_do_not_collide() -> None:
    assert names.encode("🚀") != names.encode("\x1f680")
    assert names.encode("🚀") == "%F0%9F%9A%80.jsonl"
    assert names.encode("api/v1: x") == "api%2Fv1%3A%20x.jsonl"
    for tricky in ("", ".", "..", ".hidden", "%", "%25"):
        enc = names.encode(tricky)
        assert "/" not in enc and not enc.startswith(".") and names.decode(enc) == tricky


@given(st.text(max_size=16))  # 16 code points of 4 bytes: under the hashing length
def test_encoding_is_reversible(name: str) -> None:
    enc = names.encode(name)
    assert names.decode(enc) == name
    assert set(enc[: -len(names.SUFFIX)]) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-%")


@given(st.text(min_size=1, max_size=30), st.text(min_size=1, max_size=30))
def test_distinct_names_get_distinct_files(a: str, b: str) -> None:
    assert (names.encode(a) == names.encode(b)) == (a == b)


def test_absurdly_long_names_stay_under_name_max_and_distinct() -> None:
    a, b = "x" * 5000 + "a", "x" * 5000 + "b"
    assert len(names.encode(a).encode()) <= 255 and names.encode(a) != names.encode(b)
    assert names.decode(names.encode(a)) is None  # hashed: not reversible, still one file per name
    assert len(names.encode("🚀" * 100).encode()) <= 255


def test_store_keeps_colliding_looking_resources_apart(tmp_path: object) -> None:
    from lockstep.logs.store import LogSource, LogStore

    store = LogStore(str(tmp_path))
    store.append("🚀", LogSource.RUNTIME, "rocket", 1.0)
    store.append("\x1f680", LogSource.RUNTIME, "control char", 1.0)
    assert [x.text for x in store.read_all_from_disk("🚀")] == ["rocket"]
    assert [x.text for x in store.read_all_from_disk("\x1f680")] == ["control char"]
    store.close()


def _reference_encode(resource: str) -> str:
    """The byte-by-byte spelling the fast paths must reproduce exactly (file names are forever)."""
    import hashlib
    import re

    raw = resource.encode("utf-8", "surrogatepass")
    out = "".join(chr(b) if re.fullmatch(rb"[A-Za-z0-9_-]", bytes([b])) else f"%{b:02X}" for b in raw) or "%"
    if len(out) > 200:
        out = out[:166] + "~~" + hashlib.sha256(raw).hexdigest()[:32]
    return out + ".jsonl"


@given(st.one_of(
    st.text(max_size=80),
    st.text(alphabet="abcXYZ019_-", min_size=0, max_size=260),  # plain names, either side of the length limit
    st.text(alphabet="ab_-\n/é\ud800", max_size=120),
    st.builds(lambda n, c, tail: c * n + tail, st.integers(190, 210), st.sampled_from("aZ9_-"),
              st.sampled_from(["", "-", "/", "\n"])),  # at the hashing length
))
def test_fast_encoding_equals_the_byte_by_byte_spelling(name: str) -> None:
    assert names.encode(name) == _reference_encode(name)
