"""The scheduler, incrementally: the same decision as `next_updates`, redone only where the state changed.

`next_updates(state)` asks every hold rule about every pending resource and
recomputes the upstream view of the whole graph: a pass costs the graph, and a
run of n updates costs n passes. `IncrementalScheduler.decide(state)` keeps,
from the previous state it decided on:

- the upstream view (`clear`, `failed`), re-derived in topological order from
  the resources whose status changed, stopping where the values stay the same;
- each pending resource's gate and condition holds, recomputed only for the
  resources they may have changed for (its own status, its upstreams' view, a
  start or end of one of its transitive dependents, the clock for the few with
  time-bound holds);
- the ready set (pending, no condition), which alone takes the slot rules, in
  topological order, as in `next_updates`: as sorted queues from which a pass
  takes its starts by bisection, the waiting ones' slot holds given by the
  pass's epochs (engine/slots.py) rather than asked one by one.

Anything global (configuration, settings, topology, inferred edges, the set of
disabled resources, Tiltfile reload) starts from scratch. It stays a function
of the states it is given: the property test checks that its decision equals
`next_updates` on random action sequences.
"""

from __future__ import annotations

import heapq

from lockstep.engine.rules import RULES, Context, Stage, holds_for, ignored_edge, serial_local, upstream_view
from lockstep.engine.scheduler import Decision
from lockstep.engine.slots import Epochs, ReadyQueue, SlotHolds, changed_in, epoch_values, snapshot
from lockstep.model.pmap import PMap, changed_keys
from lockstep.model.resource import ResourceKind
from lockstep.model.update import HoldReason
from lockstep.store.state import EngineState, ResourceState

_CONDITIONS = tuple(r for r in RULES if r.stage is not Stage.SLOT)
_SLOTS = tuple(r for r in RULES if r.stage is Stage.SLOT)


def _waiting(s: ResourceState) -> bool:
    return bool(s.pending) and s.running is None


def _volatile(s: ResourceState) -> bool:
    """Its condition holds depend on the clock or on who runs, beyond its own status."""
    return bool(s.writers or s.suspects) or s.last_change is not None


def _global_key(state: EngineState) -> tuple[object, ...]:
    return (
        state.config, state.resources, state.settings, state.topology, state.inferred,
        state.config_dirty_since, state.config_reloading, state.config_reload_requested,
    )


class IncrementalScheduler:
    def __init__(self) -> None:
        self._prev: EngineState | None = None
        self._key: tuple[object, ...] = ()
        self._index: dict[str, int] = {}
        self._clear: dict[str, bool] = {}
        self._failed: dict[str, frozenset[str]] = {}
        self._disabled: frozenset[str] = frozenset()
        self._running: set[str] = set()
        # Pending and not running: their condition holds; `_held` the non-empty ones.
        self._cond: dict[str, tuple[HoldReason, ...]] = {}
        self._waiting: set[str] = set()
        # The same set as a mask over the topology's upstream bits, so that "which
        # transitive upstreams wait" costs a few machine words, not a walk of the closure.
        self._waiting_bits = 0
        self._held: PMap[str, tuple[HoldReason, ...]] = PMap()
        self._ready: set[str] = set()
        # The ready ones that are not volatile, by position: where a pass finds its starts.
        self._queue = ReadyQueue()
        self._serial: dict[str, bool] = {}
        self._epochs: Epochs | None = None
        self._volatile: set[str] = set()
        # Names whose hold entry this decision may have rewritten (None after a rebuild),
        # and the ones the previous slot pass walked (their slot holds may go).
        self._touched: set[str] | None = None
        self._walked: list[str] = []

    def decide(self, state: EngineState) -> Decision:
        prev = self._prev
        key = _global_key(state)
        self._touched = set(self._walked)
        if prev is None or any(a is not b for a, b in zip(key, self._key, strict=True)):
            self._rebuild(state, key)
        else:
            old = prev.statuses
            moved = changed_keys(old, state.statuses)
            changed = set(moved) if moved is not None else {n for n, s in state.statuses.items() if old.get(n) is not s}
            if any(state.statuses[n].enabled != old[n].enabled for n in changed):
                self._rebuild(state, key)  # the disabled set is global to the rules
            elif changed:
                self._advance(prev, state, changed)
            elif state.now != prev.now and self._volatile:
                self._recompute(state, set(self._volatile))
        self._prev = state
        return self._slots(state)

    # -- from scratch ----------------------------------------------------------

    def _rebuild(self, state: EngineState, key: tuple[object, ...]) -> None:
        self._key = key
        self._touched = None
        self._index = {n: i for i, n in enumerate(state.topology.order)}
        self._serial = {n: serial_local(r) for n, r in state.resources.items()}
        self._queue, self._epochs = ReadyQueue(), None
        self._clear, self._failed = upstream_view(state)
        self._disabled = frozenset(n for n, s in state.statuses.items() if not s.enabled)
        self._running = {n for n, s in state.statuses.items() if s.running is not None}
        self._cond, self._waiting, self._held, self._ready, self._volatile = {}, set(), PMap(), set(), set()
        self._waiting_bits = 0
        self._recompute(state, {n for n, s in state.statuses.items() if _waiting(s)})

    # -- incrementally -----------------------------------------------------------

    def _advance(self, prev: EngineState, state: EngineState, changed: set[str]) -> None:
        statuses = state.statuses
        dirty: set[str] = set(changed)
        for n in changed:
            was, now = prev.statuses[n].running is not None, statuses[n].running is not None
            if was == now:
                continue
            # A start or an end changes "dependent reading" of its transitive
            # upstreams and the writer holds (the volatile ones).
            if now:
                self._running.add(n)
            else:
                self._running.discard(n)
            dirty |= state.topology.all_ups.within(n, self._waiting_bits)
            dirty |= self._volatile
        dirty |= self._propagate_view(state, changed)
        if state.now != prev.now:
            dirty |= self._volatile
        self._recompute(state, dirty)

    def _propagate_view(self, state: EngineState, changed: set[str]) -> set[str]:
        """Re-derive clear/failed downstream of the changed resources, in topological order.

        Returns the resources whose condition holds may differ: those whose
        view changed, and the dependents of those whose view changed.
        """
        ups_of, downs_of = state.topology.ups, state.topology.downs
        statuses = state.statuses
        none: frozenset[str] = frozenset()
        heap = [(self._index[n], n) for n in changed]
        heapq.heapify(heap)
        done: set[str] = set()
        affected: set[str] = set()
        while heap:
            _, n = heapq.heappop(heap)
            if n in done:
                continue
            done.add(n)
            roots = none
            ok = True
            for u in ups_of.get(n, none):
                if ignored_edge(state, u, n):
                    continue
                fu = self._failed[u]
                if fu:
                    roots = roots | fu
                su = statuses[u]
                if su.failed and su.running is None:
                    roots = roots | {u}
                if ok and not self._clear[u]:
                    ok = False
            clear = ok and statuses[n].settled
            moved = clear != self._clear[n] or roots != self._failed[n]
            if moved:
                self._clear[n], self._failed[n] = clear, roots
                affected.add(n)
            if moved or n in changed:
                downs = downs_of.get(n, none)
                # A dependent's condition holds read an upstream's status only through the
                # views (its clear, the dependent's own failed set) and its enabled flag (a
                # change of which rebuilds): a status change that moves no view (a start)
                # re-derives the dependents' views, and only those that move are affected.
                if moved:
                    affected |= downs
                for d in downs:
                    if d not in done:
                        heapq.heappush(heap, (self._index[d], d))
        return affected

    def _recompute(self, state: EngineState, names: set[str]) -> None:
        if self._touched is not None:
            self._touched |= names
        ctx = self._context(state)
        statuses = state.statuses
        all_ups = state.topology.all_ups
        held: dict[str, tuple[HoldReason, ...]] = {}
        queued: dict[str, tuple[int, bool]] = {}
        unheld: list[str] = []
        unqueued: list[str] = []
        for n in names:
            s = statuses.get(n)
            self._ready.discard(n)
            self._volatile.discard(n)
            if s is None or not _waiting(s):
                self._cond.pop(n, None)
                unheld.append(n)
                unqueued.append(n)
                if n in self._waiting:
                    self._waiting.discard(n)
                    self._waiting_bits ^= all_ups.bit(n)
                continue
            cond = holds_for(ctx, n, _CONDITIONS)
            self._cond[n] = cond
            if n not in self._waiting:
                self._waiting.add(n)
                self._waiting_bits |= all_ups.bit(n)
            volatile = _volatile(s)
            if volatile:
                self._volatile.add(n)
            if cond:
                held[n] = cond
                unqueued.append(n)
                continue
            unheld.append(n)
            self._ready.add(n)
            if volatile:
                unqueued.append(n)
            else:
                queued[n] = (self._index[n], self._serial[n])
        if held or unheld:
            self._held = self._held.update(held, unheld)
        self._queue.apply(queued, unqueued)

    def _context(self, state: EngineState) -> Context:
        running = set(self._running)
        local = {n for n in running if state.resources[n].kind is ResourceKind.LOCAL}
        return Context(
            state, self._clear, self._failed, running, self._disabled, local,
            {n for n in local if serial_local(state.resources[n])},
            max(1, state.settings.max_parallel_updates) - len(running),
        )

    def _slots(self, state: EngineState) -> Decision:
        """The slot rules over the ready resources, in topological order, each start claiming its slot.

        Non-volatile ready resources are not asked one by one: the next one that
        may start under the context so far is found by bisection in the queues,
        and the ones passed over wait with their epoch's hold. A volatile
        resource's writer holds see this pass's earlier starts (as in
        `next_updates`), so it is asked every rule at its place in the order.
        """
        ctx = self._context(state)
        order = state.topology.order
        queue, index = self._queue, self._index
        volatile = sorted(self._volatile, key=index.__getitem__)
        walked: dict[str, tuple[HoldReason, ...]] = {}
        starts: list[str] = []
        bounds, contexts = [-1], [snapshot(ctx)]
        pos, vi = -1, 0
        while True:
            cand: int | None = None
            if not ctx.serial_running and ctx.capacity > 0:
                cand = queue.after(pos, False)
                if not ctx.local_running:
                    first = queue.after(pos, True)
                    if first is not None and (cand is None or first < cand):
                        cand = first
            if vi < len(volatile) and (cand is None or index[volatile[vi]] < cand):
                n, vi = volatile[vi], vi + 1
                walked[n] = reasons = holds_for(ctx, n)
            elif cand is not None:
                n, pos = order[cand], cand
                reasons = holds_for(ctx, n, _SLOTS)
                if reasons:  # only were a slot rule to read more than the resource's kind
                    walked[n] = reasons
            else:
                break
            if not reasons:
                starts.append(n)
                ctx.claim(n)
                bounds.append(index[n])
                contexts.append(snapshot(ctx))
        serial_rep = order[queue.serial[0]] if queue.serial else None
        parallel_rep = order[queue.parallel[0]] if queue.parallel else None
        epochs = Epochs(tuple(bounds), tuple(epoch_values(c, serial_rep, parallel_rep, _SLOTS) for c in contexts))
        started = frozenset(starts)
        holds = SlotHolds(self._held, walked, queue.members, epochs, started)
        wake_at: float | None = None
        for n in volatile:
            for h in walked[n]:
                if h.until is not None:
                    wake_at = h.until if wake_at is None else min(wake_at, h.until)
        touched = None
        if self._touched is not None:
            touched = frozenset(self._touched.union(walked, started, changed_in(self._epochs, epochs, queue, order)))
        self._epochs = epochs
        self._walked = [*walked, *starts]
        return Decision(tuple(starts), holds, wake_at, touched)
