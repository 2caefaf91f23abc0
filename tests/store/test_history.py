"""History: appends in O(1) and behaves as the bounded tuple it replaced, for every value ever made."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from lockstep.store.history import History

# Each step appends a new item to one earlier value (often the newest, as the reducers do).
_steps = st.lists(st.tuples(st.integers(0, 1000), st.booleans()), max_size=120)


@given(st.integers(1, 9), _steps)
def test_every_value_equals_the_bounded_tuple(bound: int, steps: list[tuple[int, bool]]) -> None:
    values: list[tuple[History[int], tuple[int, ...]]] = [(History(), ())]
    for n, (pick, newest) in enumerate(steps):
        h, t = values[-1] if newest else values[pick % len(values)]
        values.append((h.append(n, bound), (*t, n)[-bound:]))
    # Checked after all appends: an older value never sees what was appended to a newer one.
    for h, t in values:
        assert len(h) == len(t)
        assert tuple(h) == t and h == t and list(reversed(h)) == list(reversed(t))
        for k in range(-len(t) - 1, len(t) + 2):
            assert h[k:] == t[k:] and h[:k] == t[:k]
            if -len(t) <= k < len(t):
                assert h[k] == t[k]
        assert h[::-1] == t[::-1]


def test_of_keeps_a_history_and_wraps_a_tuple() -> None:
    h = History([1, 2])
    assert History.of(h) is h
    assert History.of((1, 2)) == (1, 2)
