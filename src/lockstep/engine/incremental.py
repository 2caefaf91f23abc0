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
from operator import is_not

from lockstep.engine.quick import quick_conditions, view_flags
from lockstep.engine.rules import (
    RULES,
    Context,
    Stage,
    holds_for,
    ignored_edge,
    serial_local,
    tiltfile_reload,
    upstream_view,
)
from lockstep.engine.scheduler import Decision
from lockstep.engine.slots import Entry, Epochs, ReadyQueue, SlotHolds, changed_in, code, snapshot
from lockstep.engine.versioned import VersionedDict
from lockstep.model.pmap import changed_keys, set_since
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
        # Counts the decisions that started from scratch: a new configuration, topology or
        # disabled set. What was running may have been removed or disabled only then.
        self.generation = 0
        self._prev: EngineState | None = None
        self._key: tuple[object, ...] = ()
        self._index: dict[str, int] = {}
        self._clear: dict[str, bool] = {}
        self._failed: dict[str, frozenset[str]] = {}
        self._disabled: frozenset[str] = frozenset()
        self._running: set[str] = set()
        # Pending and not running.
        self._waiting: set[str] = set()
        # The same set as a mask over the topology's upstream bits, so that "which
        # transitive upstreams wait" costs a few machine words, not a walk of the closure.
        self._waiting_bits = 0
        # Hold entries (engine/slots.py): each held resource's condition holds, each queued
        # one's code; written in place, each decision keeping a frozen version of them.
        self._entries: VersionedDict[str, Entry] = VersionedDict()
        self._ready: set[str] = set()
        # The ready ones that are not volatile, by position: where a pass finds its starts.
        self._queue = ReadyQueue()
        self._serial: dict[str, bool] = {}
        self._local: set[str] = set()
        self._local_running: set[str] = set()
        self._serial_running: set[str] = set()
        self._settled: set[str] = set()
        self._blocked: set[str] = set()
        # Per configuration: no disabled resource and no reload (see engine/quick.py).
        self._plain = False
        # The running set as a mask over the topology's dependent bits: "does a transitive
        # dependent of n run" is one `&`.
        self._running_down = 0
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
        if prev is None or any(map(is_not, key, self._key)):
            self._rebuild(state, key)
        else:
            old = prev.statuses
            # The keys the reducers set since (a superset of those that changed: redoing
            # an unchanged one decides the same), else the exact comparison.
            changed = set_since(old, state.statuses)
            if changed is None:
                moved = changed_keys(old, state.statuses)
                changed = set(moved) if moved is not None else {
                    n for n, s in state.statuses.items() if old.get(n) is not s}
            if changed:
                if not self._advance(prev, state, changed):
                    self._rebuild(state, key)  # the disabled set is global to the rules
            elif state.now != prev.now and self._volatile:
                self._recompute(state, set(self._volatile))
        self._prev = state
        return self._slots(state)

    # -- from scratch ----------------------------------------------------------

    def _rebuild(self, state: EngineState, key: tuple[object, ...]) -> None:
        self.generation += 1
        self._key = key
        self._touched = None
        self._index = {n: i for i, n in enumerate(state.topology.order)}
        self._serial = {n: serial_local(r) for n, r in state.resources.items()}
        self._local = {n for n, r in state.resources.items() if r.kind is ResourceKind.LOCAL}
        self._queue, self._epochs = ReadyQueue(), None
        self._clear, self._failed = upstream_view(state)
        # What the views read of each status, kept so that re-deriving one reads no status.
        self._settled, self._blocked = set(), set()
        for n, s in state.statuses.items():
            is_settled, is_blocked = view_flags(s)
            if is_settled:
                self._settled.add(n)
            if is_blocked:
                self._blocked.add(n)
        self._disabled = frozenset(n for n, s in state.statuses.items() if not s.enabled)
        # Nothing disabled, no reload: the gates and `upstream disabled` hold for no one, and
        # no edge is ignored, so a plain resource's conditions come from the view alone.
        self._plain = not self._disabled and tiltfile_reload(Context(state, {}, {}), "") is None
        self._running, self._running_down = set(), 0
        self._local_running, self._serial_running = set(), set()
        for n, s in state.statuses.items():
            if s.running is not None:
                self._set_running(state, n, True)
        self._waiting, self._ready, self._volatile = set(), set(), set()
        self._entries = VersionedDict()
        self._waiting_bits = 0
        self._recompute(state, {n for n, s in state.statuses.items() if _waiting(s)})

    def _set_running(self, state: EngineState, n: str, running: bool) -> None:
        """Keep the running set, its local and serial parts, and its mask over the dependents' bits."""
        bit = state.topology.all_downs.bit(n)
        local, serial = n in self._local, self._serial[n]
        if running:
            self._running.add(n)
            self._running_down |= bit
            if local:
                self._local_running.add(n)
                if serial:
                    self._serial_running.add(n)
        else:
            self._running.discard(n)
            self._running_down &= ~bit
            self._local_running.discard(n)
            self._serial_running.discard(n)

    # -- incrementally -----------------------------------------------------------

    def _advance(self, prev: EngineState, state: EngineState, changed: set[str]) -> bool:
        """Redo what the changed statuses may have changed; False when the disabled set moved (rebuild)."""
        statuses = state.statuses
        all_ups = state.topology.all_ups
        dirty: set[str] = set(changed)
        seeds: set[str] = set()
        settled, blocked, disabled, running = self._settled, self._blocked, self._disabled, self._running
        for n in changed:
            new = statuses[n]
            if new.enabled == (n in disabled):
                return False
            # Only a change of what the views read (settled, blocking) re-derives them.
            is_settled, is_blocked = view_flags(new)
            if is_settled != (n in settled):
                seeds.add(n)
                (settled.add if is_settled else settled.discard)(n)
            if is_blocked != (n in blocked):
                seeds.add(n)
                (blocked.add if is_blocked else blocked.discard)(n)
            now = new.running is not None
            if (n in running) == now:
                continue
            # A start or an end changes "dependent reading" of its transitive
            # upstreams and the writer holds (the volatile ones).
            self._set_running(state, n, now)
            if all_ups.bits(n) & self._waiting_bits:
                dirty.update(all_ups.within(n, self._waiting_bits))
            dirty |= self._volatile
        if seeds:
            dirty |= self._propagate_view(state, seeds)
        if state.now != prev.now:
            dirty |= self._volatile
        self._recompute(state, dirty)
        return True

    def _propagate_view(self, state: EngineState, seeds: set[str]) -> set[str]:
        """Re-derive clear/failed downstream of the seeds (whose settled or blocking flag moved), in order.

        Returns the resources whose condition holds may differ: those whose
        view changed, and the dependents of those whose view changed.
        """
        ups_of, downs_of = state.topology.ups, state.topology.downs
        index, clear_of, failed_of = self._index, self._clear, self._failed
        settled, blocked = self._settled, self._blocked
        none: frozenset[str] = frozenset()
        plain = self._plain
        heap = [(index[n], n) for n in seeds]
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
                if not plain and ignored_edge(state, u, n):
                    continue
                fu = failed_of[u]
                if fu:
                    roots = roots | fu
                if u in blocked:
                    roots = roots | {u}
                if ok and not clear_of[u]:
                    ok = False
            clear = ok and n in settled
            moved = clear != clear_of[n] or roots != failed_of[n]
            if moved:
                clear_of[n], failed_of[n] = clear, roots
                affected.add(n)
            if moved or n in seeds:
                downs = downs_of.get(n, none)
                # A dependent's condition holds read an upstream's status only through the
                # views (its clear, the dependent's own failed set) and its enabled flag (a
                # change of which rebuilds): a seed whose view stays re-derives the
                # dependents' views (its blocking flag may have moved), and only those that
                # move are affected.
                if moved:
                    affected |= downs
                for d in downs:
                    if d not in done:
                        heapq.heappush(heap, (index[d], d))
        return affected

    def _recompute(self, state: EngineState, names: set[str]) -> None:
        if self._touched is not None:
            self._touched |= names
        ctx: Context | None = None
        statuses = state.statuses
        ups_of = state.topology.ups
        down_bits = state.topology.all_downs.bits
        up_bit = state.topology.all_ups.bit
        plain, running_down = self._plain, self._running_down
        clear_of, failed_of = self._clear, self._failed
        ready, volatile_set, waiting = self._ready, self._volatile, self._waiting
        entries, queue, index, serial = self._entries, self._queue, self._index, self._serial
        entry = entries.data
        none: frozenset[str] = frozenset()
        for n in names:
            s = statuses.get(n)
            ready.discard(n)
            volatile_set.discard(n)
            old = entry.get(n)
            if s is None or not s.pending or s.running is not None:
                if old is not None:
                    del entries[n]
                    if isinstance(old, int):
                        queue.drop(old)
                if n in waiting:
                    waiting.discard(n)
                    self._waiting_bits ^= up_bit(n)
                continue
            cond = None
            if plain and not down_bits(n) & running_down:
                cond = quick_conditions(s, ups_of.get(n, none), clear_of, failed_of[n])
            if cond is None:
                if ctx is None:
                    ctx = self._context(state)
                cond = holds_for(ctx, n, _CONDITIONS)
            if n not in waiting:
                waiting.add(n)
                self._waiting_bits |= up_bit(n)
            volatile = _volatile(s)
            if volatile:
                volatile_set.add(n)
            new: Entry | None
            if cond:
                new = cond
            else:
                ready.add(n)
                # A volatile ready resource is asked every rule in the slot pass instead.
                new = None if volatile else code(index[n], serial[n])
            if new == old:
                continue
            if isinstance(old, int):
                queue.drop(old)
            if new is None:
                del entries[n]
                continue
            if isinstance(new, int):
                queue.add(new)
            entries[n] = new

    def _context(self, state: EngineState) -> Context:
        running = self._running
        return Context(
            state, self._clear, self._failed, set(running), self._disabled, set(self._local_running),
            set(self._serial_running), max(1, state.settings.max_parallel_updates) - len(running),
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
        volatile = sorted(self._volatile, key=index.__getitem__) if self._volatile else []
        walked: dict[str, tuple[HoldReason, ...]] = {}
        starts: list[str] = []
        # The last epoch's context is the live one (nothing claims after it).
        bounds, contexts = [-1], [ctx]
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
                contexts[-1] = snapshot(ctx)
                ctx.claim(n)
                bounds.append(index[n])
                contexts.append(ctx)
        serial_rep = order[queue.serial[0]] if queue.serial else None
        parallel_rep = order[queue.parallel[0]] if queue.parallel else None
        epochs = Epochs(tuple(bounds), tuple(contexts), (serial_rep, parallel_rep), _SLOTS)
        started = frozenset(starts)
        holds = SlotHolds(self._entries.freeze(), walked, epochs, started)
        wake_at: float | None = None
        for n in volatile:
            for h in walked[n]:
                if h.until is not None:
                    wake_at = h.until if wake_at is None else min(wake_at, h.until)
        touched = None
        if self._touched is not None:
            t = self._touched
            t.update(walked, started, changed_in(self._epochs, epochs, queue, order))
            touched = frozenset(t)
        self._epochs = epochs
        self._walked = [*walked, *starts]
        return Decision(tuple(starts), holds, wake_at, touched)
