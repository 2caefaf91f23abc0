"""A frozen dataclass copied with some fields changed, at a fraction of `dataclasses.replace`'s cost.

`replace` goes through the class's `__init__` with every field passed by name (and
checks each one for `init=False`): about 2-4 µs for the engine's state and a
resource's state, several times per action. The reducers copy these values on every
action of every update, so that cost was a visible share of each update. The copy
here takes the instance's `__dict__` as it is and overlays the changes, which is what
`replace` amounts to for classes without `__post_init__`, `InitVar`s or `init=False`
fields (the reducers' state classes; tests/store/test_evolve.py checks the two agree).
"""

from __future__ import annotations

from typing import Any, TypeVar

T = TypeVar("T")


def evolve(obj: T, **changes: Any) -> T:
    """`dataclasses.replace(obj, **changes)` for plain frozen dataclasses with a `__dict__`."""
    d = obj.__dict__
    if not changes.keys() <= d.keys():
        # The same error `replace` gives for a misspelt field, rather than a silent new attribute.
        unknown = ", ".join(sorted(changes.keys() - d.keys()))
        raise TypeError(f"{type(obj).__name__} has no field(s) {unknown}")
    new = object.__new__(type(obj))
    nd = new.__dict__
    nd.update(d)
    nd.update(changes)
    return new
