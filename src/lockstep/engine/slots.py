"""The slot pass at the cost of its starts: ready resources waiting for a slot are not asked one by one.

A ready resource (pending, no condition holds) that does not start waits for
a slot, and its slot hold is a function of the pass's context at its place in
the topological order (which updates run, how many slots are free) and of
whether it is a serial local update: the slot rules read nothing else. The
context changes only when a resource starts. So a pass is a few *epochs*
(at most one per start, plus the first), and every waiting ready resource's
hold is its epoch's value for its kind: `SlotHolds` answers lookups from
that, without an entry per resource. Finding the starts takes a bisect per
start in the sorted ready queues, not a walk of every ready resource.

Hold reasons stay exact: the value is what the slot rules themselves say for
that context (asked of a resource of the same kind), and `changed_in` names
every waiting resource whose reason text differs from the previous pass's
(O(those), which the views need anyway).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterator, Mapping

from lockstep.engine.rules import Context, Rule, holds_for
from lockstep.engine.versioned import Version
from lockstep.model.update import HoldReason

Holds = tuple[HoldReason, ...]
# A hold entry: a resource's condition holds, or its ready-queue code (it waits for a slot).
Entry = Holds | int


def code(pos: int, serial: bool) -> int:
    """A ready resource's queue code: its topological position and its kind in one int."""
    return pos * 2 + serial


class ReadyQueue:
    """The ready resources a pass may start, as sorted topological positions, by kind (serial or not).

    A member is named by its code, `pos * 2 + serial` (see `code`): the scheduler keeps
    the codes among its hold entries, beside the condition holds.
    """

    def __init__(self) -> None:
        self.serial: list[int] = []
        self.parallel: list[int] = []

    def add(self, c: int) -> None:
        insort(self.serial if c & 1 else self.parallel, c >> 1)

    def drop(self, c: int) -> None:
        lst = self.serial if c & 1 else self.parallel
        del lst[bisect_left(lst, c >> 1)]

    def after(self, pos: int, serial: bool) -> int | None:
        """The first position of this kind after `pos`."""
        lst = self.serial if serial else self.parallel
        i = bisect_right(lst, pos)
        return lst[i] if i < len(lst) else None


class Epochs:
    """From position `starts[k]` on (up to the next), a waiting ready resource's slot hold is epoch k's value.

    That value is what the slot rules say in the pass's k-th context, asked of one
    ready resource of the same kind (serial or not): computed on first use and
    kept, since most epochs' values are never read (nobody of that kind waits
    there, or no view asks). A kept context's own sets are copies, but its
    upstream view (`clear`, `failed`) is the scheduler's, which later decisions
    rewrite: the slot rules read what runs, the free slots and the resource's
    kind only, never the view.
    """

    __slots__ = ("_contexts", "_reps", "_rules", "_values", "starts")

    def __init__(self, starts: tuple[int, ...], contexts: tuple[Context, ...],
                 reps: tuple[str | None, str | None], rules: tuple[Rule, ...]) -> None:
        self.starts = starts
        self._contexts, self._reps, self._rules = contexts, reps, rules
        self._values: dict[tuple[int, bool], Holds] = {}

    def value(self, k: int, serial: bool) -> Holds:
        v = self._values.get((k, serial))
        if v is None:
            rep = self._reps[0 if serial else 1]
            v = holds_for(self._contexts[k], rep, self._rules) if rep is not None else ()
            self._values[k, serial] = v
        return v

    def at(self, pos: int, serial: bool) -> Holds:
        return self.value(bisect_right(self.starts, pos) - 1, serial)


def changed_in(
    prev: Epochs | None, new: Epochs, queue: ReadyQueue, order: tuple[str, ...] | list[str]
) -> set[str]:
    """Queue members whose slot hold under `new` differs from the one under `prev` (all, without `prev`)."""
    out: set[str] = set()
    bounds = sorted(set(new.starts).union(prev.starts)) if prev is not None else new.starts
    for k, lo in enumerate(bounds):
        hi = bounds[k + 1] if k + 1 < len(bounds) else None
        for serial in (True, False):
            lst = queue.serial if serial else queue.parallel
            if not lst:
                continue
            i = bisect_left(lst, lo)
            j = len(lst) if hi is None else bisect_left(lst, hi, i)
            # An empty range compares no values (and computes none).
            if i == j or (prev is not None and prev.at(lo, serial) == new.at(lo, serial)):
                continue
            out.update(order[p] for p in lst[i:j])
    return out


class SlotHolds(Mapping[str, Holds]):
    """A decision's holds: condition holds, the walked (volatile) ones, and each waiting ready one's epoch value."""

    __slots__ = ("_entries", "_epochs", "_flat", "_starts", "_walked")

    def __init__(
        self, entries: Version[str, Entry], walked: Mapping[str, Holds], epochs: Epochs, starts: frozenset[str],
    ) -> None:
        self._entries, self._walked = entries, walked
        self._epochs, self._starts = epochs, starts
        self._flat: dict[str, Holds] | None = None

    def get(self, name: str, default: object = None) -> Holds | None:  # type: ignore[override]
        if name in self._walked:
            return self._walked[name] or default  # type: ignore[return-value]
        if name in self._starts:
            return default  # type: ignore[return-value]
        e = self._entries.get(name)
        if e is None:
            return default  # type: ignore[return-value]
        if isinstance(e, int):
            return self._epochs.at(e >> 1, bool(e & 1)) or default  # type: ignore[return-value]
        return e

    def __getitem__(self, name: str) -> Holds:
        v = self.get(name)
        if v is None:
            raise KeyError(name)
        return v

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def flat(self) -> dict[str, Holds]:
        if self._flat is None:
            out: dict[str, Holds] = {}
            walked, starts, at = self._walked, self._starts, self._epochs.at
            for n, e in self._entries.flat().items():
                if n in walked:
                    continue
                if not isinstance(e, int):
                    out[n] = e
                elif n not in starts and (h := at(e >> 1, bool(e & 1))):
                    out[n] = h
            out.update((n, h) for n, h in walked.items() if h)
            self._flat = out
        return self._flat

    def __iter__(self) -> Iterator[str]:
        return iter(self.flat())

    def __len__(self) -> int:
        return len(self.flat())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return self.flat() == dict(other.items())
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"SlotHolds({self.flat()!r})"


def snapshot(ctx: Context) -> Context:
    """The context as it stands, kept for an epoch while the pass goes on claiming."""
    return Context(ctx.state, ctx.clear, ctx.failed, set(ctx.running), ctx.disabled, set(ctx.local_running),
                   set(ctx.serial_running), ctx.capacity)
