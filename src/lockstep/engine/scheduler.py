"""The pure scheduler: what may start now, and why everything else waits.

`next_updates(state)` is a function of the state alone (the state carries
`now`). It enforces C1, C3, C4, C6 and C7 and gives every waiting resource
its typed hold reasons, so the views can always say why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from lockstep.model.resource import Resource, ResourceKind, TriggerMode
from lockstep.model.update import HoldKind, HoldReason, ReasonKind
from lockstep.store.state import EngineState, ResourceState

# How long past the quiet window a change may be held while the updates running
# during it are checked for evidence of writing it (C4).
WRITER_GRACE_SECS = 1.0

# Reasons that start a manual-trigger-mode resource without a trigger.
_SELF_STARTING = frozenset({ReasonKind.INITIAL, ReasonKind.MANUAL})


@dataclass(frozen=True)
class Decision:
    starts: tuple[str, ...] = ()
    holds: Mapping[str, tuple[HoldReason, ...]] = field(default_factory=dict)
    # Earliest time at which a quiet window ends: tick the store then.
    wake_at: float | None = None


def _serial_local(r: Resource) -> bool:
    return r.kind is ResourceKind.LOCAL and not (r.local is not None and r.local.allow_parallel)


def _upstream_view(state: EngineState) -> tuple[dict[str, bool], dict[str, frozenset[str]]]:
    """One pass in topological order, O(nodes + edges) rather than a walk per node.

    clear[n]: n and every transitive upstream of n are settled.
    failed[n]: the transitive upstreams of n whose last update failed.
    """
    clear: dict[str, bool] = {}
    failed: dict[str, frozenset[str]] = {}
    # Per-node facts read once: this runs after every batch of actions.
    rs = state.rs
    blocking = {n: s.failed and s.running is None for n, s in rs.items()}
    ups_of = state.topology.ups
    none: frozenset[str] = frozenset()
    for n in state.topology.order:
        roots = none
        ok = True
        for u in ups_of.get(n, none):
            if _ignored_edge(state, u, n):
                continue
            fu = failed[u]
            if fu:
                roots = roots | fu
            if blocking[u]:
                roots = roots | {u}
            if ok and not clear[u]:
                ok = False
        failed[n] = roots
        clear[n] = ok and rs[n].settled
    return clear, failed


def _ignored_edge(state: EngineState, up: str, down: str) -> bool:
    """A disabled upstream known only from inference holds nothing (C4)."""
    return (up, down) in state.inferred and not state.rs[up].enabled


def _upstream_holds(
    state: EngineState, name: str, clear: dict[str, bool], failed: dict[str, frozenset[str]]
) -> list[HoldReason]:
    holds = []
    if failed[name]:
        holds.append(HoldReason(HoldKind.UPSTREAM_FAILED, tuple(sorted(failed[name]))))
    # Name the nearest upstreams that are not yet clear; the chain behind them
    # is visible on those resources' own hold reasons.
    ups = [u for u in state.topology.ups.get(name, frozenset()) if not _ignored_edge(state, u, name)]
    waiting = sorted(u for u in ups if not clear[u] and u not in failed[name] and state.rs[u].enabled)
    if waiting:
        holds.append(HoldReason(HoldKind.WAITING_ON_UPSTREAM, tuple(waiting)))
    # Say so when what it waits for is disabled: it will not finish by itself.
    behind = set(ups).union(*(state.topology.all_ups.get(u, frozenset()) for u in ups))
    disabled = sorted(u for u in behind if not state.rs[u].enabled)
    if disabled:
        holds.append(HoldReason(HoldKind.UPSTREAM_DISABLED, tuple(disabled)))
    return holds


def _wants_to_start(s: ResourceState) -> HoldReason | None:
    """None when the pending reasons allow a start in its trigger mode."""
    if s.trigger_mode is TriggerMode.AUTO or s.triggered:
        return None
    if any(r.kind in _SELF_STARTING for r in s.pending):
        return None
    return HoldReason(HoldKind.MANUAL)


def next_updates(state: EngineState) -> Decision:
    now = state.now
    quiet = state.settings.quiet_secs
    max_wait = state.settings.max_wait_secs
    running = {s.running.resource for s in state.rs.values() if s.running is not None}
    serial_running = {n for n in running if _serial_local(state.resources[n])}
    local_running = {n for n in running if state.resources[n].kind is ResourceKind.LOCAL}
    capacity = max(1, state.settings.max_parallel_updates) - len(running)
    starts: list[str] = []
    holds: dict[str, tuple[HoldReason, ...]] = {}
    wake_at: float | None = None
    clear, failed = _upstream_view(state)
    for name in state.topology.order:
        s = state.rs[name]
        if not s.pending or s.running is not None:
            continue
        if not s.enabled:
            holds[name] = (HoldReason(HoldKind.DISABLED),)
            continue
        manual = _wants_to_start(s)
        if manual is not None:
            holds[name] = (manual,)
            continue
        reasons = _upstream_holds(state, name, clear, failed)
        busy_writers = tuple(sorted(w for w in s.writers if w in running))
        if busy_writers:
            reasons.append(HoldReason(HoldKind.WAITING_FOR_WRITERS, busy_writers))
        suspects = tuple(sorted(w for w in s.suspects - s.writers if w in running))
        if suspects and s.last_change is not None:
            # No evidence (yet) that they write these files: a bounded hold while
            # it is looked for, counted from the last change (C4).
            until = s.last_change + quiet + WRITER_GRACE_SECS
            if now < until:
                reasons.append(HoldReason(HoldKind.CHECKING_WRITERS, suspects, until=until))
                wake_at = until if wake_at is None else min(wake_at, until)
        # An upstream must not rewrite what a running dependent is reading.
        readers = tuple(sorted(state.topology.all_downs.get(name, frozenset()) & running))
        if readers:
            reasons.append(HoldReason(HoldKind.WAITING_FOR_DEPENDENT, readers))
        if s.last_change is not None and not s.triggered and s.pending_since is not None:
            until = min(s.last_change + quiet, s.pending_since + max_wait)
            if now < until:
                reasons.append(HoldReason(HoldKind.QUIET_WINDOW, until=until))
                wake_at = until if wake_at is None else min(wake_at, until)
        if not reasons:
            r = state.resources[name]
            if serial_running or (_serial_local(r) and local_running):
                blockers = serial_running or local_running
                reasons.append(HoldReason(HoldKind.LOCAL_SERIAL, tuple(sorted(blockers))))
            elif capacity <= 0:
                reasons.append(HoldReason(HoldKind.PARALLEL_LIMIT))
        if reasons:
            holds[name] = tuple(reasons)
            continue
        starts.append(name)
        capacity -= 1
        running.add(name)
        if state.resources[name].kind is ResourceKind.LOCAL:
            local_running.add(name)
            if _serial_local(state.resources[name]):
                serial_running.add(name)
    return Decision(tuple(starts), holds, wake_at)
