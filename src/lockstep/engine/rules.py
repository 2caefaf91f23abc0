"""The scheduler's hold rules: each a pure `(context, resource) -> HoldReason | None`.

`RULES` lists them in the fixed order in which they are asked. A rule has a
stage that says how its answer combines with the others:

- GATE: the first gate that holds is the only reason shown, and nothing else
  is asked (a disabled resource is just "disabled").
- CONDITION: every condition that holds is shown, together.
- SLOT: asked only when no condition holds (a resource that may not start
  anyway does not take, or wait for, a slot); the first slot that holds wins.

A new kind of resource adds a rule here (and a `HoldKind`), not a branch in
the loop. The context is built once per scheduling pass; `claim` records a
start chosen earlier in the same pass, so later resources see it.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field

from lockstep.model.resource import Resource, ResourceKind, TriggerMode
from lockstep.model.update import HoldKind, HoldReason, ReasonKind
from lockstep.store.state import EngineState, ResourceState, quiet_until

# Reasons that start a manual-trigger-mode resource without a trigger.
_SELF_STARTING = frozenset({ReasonKind.INITIAL, ReasonKind.MANUAL})

# How long past the quiet window a change may be held while the updates running
# during it are checked for evidence of writing it (C4).
WRITER_GRACE_SECS = 1.0


def serial_local(r: Resource) -> bool:
    """A local update without allow_parallel=True never runs beside another local update (C7)."""
    return r.kind is ResourceKind.LOCAL and not (r.local is not None and r.local.allow_parallel)


def upstream_view(state: EngineState) -> tuple[dict[str, bool], dict[str, frozenset[str]]]:
    """One pass in topological order, O(nodes + edges) rather than a walk per node.

    clear[n]: n and every transitive upstream of n are settled.
    failed[n]: the transitive upstreams of n whose last update failed.
    """
    clear: dict[str, bool] = {}
    failed: dict[str, frozenset[str]] = {}
    # Per-node facts read once: this runs after every batch of actions.
    rs = state.statuses
    blocking = {n: s.failed and s.running is None for n, s in rs.items()}
    ups_of = state.topology.ups
    inferred = state.inferred  # no inferred edge, no edge to ignore (and no call per edge)
    none: frozenset[str] = frozenset()
    for n in state.topology.order:
        roots = none
        ok = True
        for u in ups_of.get(n, none):
            if inferred and ignored_edge(state, u, n):
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


def ignored_edge(state: EngineState, up: str, down: str) -> bool:
    """A disabled upstream known only from inference holds nothing (C4)."""
    return (up, down) in state.inferred and not state.statuses[up].enabled


@dataclass
class Context:
    """What the rules may read: the state, facts computed once per pass, and this pass's starts."""

    state: EngineState
    clear: dict[str, bool]
    failed: dict[str, frozenset[str]]
    running: set[str] = field(default_factory=set)
    # Disabled resources: few, so "which of these lie behind n" is a cheap intersection.
    disabled: frozenset[str] = frozenset()
    local_running: set[str] = field(default_factory=set)
    serial_running: set[str] = field(default_factory=set)
    capacity: int = 0

    @staticmethod
    def of(state: EngineState) -> Context:
        clear, failed = upstream_view(state)
        running = {s.running.resource for s in state.statuses.values() if s.running is not None}
        local = {n for n in running if state.resources[n].kind is ResourceKind.LOCAL}
        disabled = frozenset(n for n, s in state.statuses.items() if not s.enabled)
        return Context(
            state, clear, failed, running, disabled, local,
            {n for n in local if serial_local(state.resources[n])},
            max(1, state.settings.max_parallel_updates) - len(running),
        )

    def claim(self, name: str) -> None:
        """`name` starts in this pass: it runs, and takes a slot."""
        r = self.state.resources[name]
        self.running.add(name)
        self.capacity -= 1
        if r.kind is ResourceKind.LOCAL:
            self.local_running.add(name)
            if serial_local(r):
                self.serial_running.add(name)


Check = Callable[[Context, str], HoldReason | None]


class Stage(enum.Enum):
    GATE = "gate"
    CONDITION = "condition"
    SLOT = "slot"


@dataclass(frozen=True)
class Rule:
    name: str
    stage: Stage
    check: Check


def _status(ctx: Context, name: str) -> ResourceState:
    return ctx.state.statuses[name]


def disabled(ctx: Context, name: str) -> HoldReason | None:
    return None if _status(ctx, name).enabled else HoldReason(HoldKind.DISABLED)


def manual(ctx: Context, name: str) -> HoldReason | None:
    """A manual-trigger-mode resource waits for a trigger, unless its reasons start it by themselves."""
    s = _status(ctx, name)
    if s.trigger_mode is TriggerMode.AUTO or s.triggered:
        return None
    if any(r.kind in _SELF_STARTING for r in s.pending):
        return None
    return HoldReason(HoldKind.MANUAL)


def tiltfile_reload(ctx: Context, name: str) -> HoldReason | None:
    """Nothing starts while the configuration is being re-read (or waits for its quiet window).

    The new definition may change what the update does, or remove the resource.
    """
    st = ctx.state
    if st.config_dirty_since is None and not st.config_reloading and not st.config_reload_requested:
        return None
    return HoldReason(HoldKind.TILTFILE_RELOAD)


def upstream_failed(ctx: Context, name: str) -> HoldReason | None:
    """C6: never start while an upstream's last update failed."""
    failed = ctx.failed[name]
    return HoldReason(HoldKind.UPSTREAM_FAILED, tuple(sorted(failed))) if failed else None


def _ups_in_force(ctx: Context, name: str) -> list[str]:
    return [u for u in ctx.state.topology.ups.get(name, frozenset()) if not ignored_edge(ctx.state, u, name)]


def upstream(ctx: Context, name: str) -> HoldReason | None:
    """C1: every transitive upstream settled.

    Names the nearest enabled upstreams that are not yet clear; the chain
    behind them is visible on those resources' own hold reasons.
    """
    failed = ctx.failed[name]
    statuses = ctx.state.statuses
    waiting = sorted(
        u for u in _ups_in_force(ctx, name) if not ctx.clear[u] and u not in failed and statuses[u].enabled
    )
    return HoldReason(HoldKind.WAITING_ON_UPSTREAM, tuple(waiting)) if waiting else None


def upstream_disabled(ctx: Context, name: str) -> HoldReason | None:
    """Says so when what it waits for is disabled: it will not finish by itself."""
    if not ctx.disabled:
        return None
    ups = _ups_in_force(ctx, name)
    all_ups = ctx.state.topology.all_ups
    # Intersections iterate the smaller set: the disabled ones, not the closures.
    found = ctx.disabled.intersection(ups).union(*(all_ups.get(u, frozenset()) & ctx.disabled for u in ups))
    return HoldReason(HoldKind.UPSTREAM_DISABLED, tuple(sorted(found))) if found else None


def writers(ctx: Context, name: str) -> HoldReason | None:
    """C4: updates seen writing this resource's files must finish first."""
    busy = tuple(sorted(w for w in _status(ctx, name).writers if w in ctx.running))
    return HoldReason(HoldKind.WAITING_FOR_WRITERS, busy) if busy else None


def checking_writers(ctx: Context, name: str) -> HoldReason | None:
    """C4: updates that ran while the files changed, with no evidence (yet) that they wrote them.

    A bounded hold while the evidence is looked for, counted from the last change.
    """
    s = _status(ctx, name)
    suspects = tuple(sorted(w for w in s.suspects - s.writers if w in ctx.running))
    if not suspects or s.last_change is None:
        return None
    until = s.last_change + ctx.state.settings.quiet_secs + WRITER_GRACE_SECS
    return HoldReason(HoldKind.CHECKING_WRITERS, suspects, until=until) if ctx.state.now < until else None


def dependent_reading(ctx: Context, name: str) -> HoldReason | None:
    """An upstream must not rewrite what a running dependent is reading."""
    readers = tuple(sorted(ctx.state.topology.all_downs.get(name, frozenset()) & ctx.running))
    return HoldReason(HoldKind.WAITING_FOR_DEPENDENT, readers) if readers else None


def quiet_window(ctx: Context, name: str) -> HoldReason | None:
    """C3: a file-triggered update waits until its changed paths have been quiet."""
    s = _status(ctx, name)
    if s.last_change is None or s.triggered or s.pending_since is None:
        return None
    until = quiet_until(s.pending_since, s.last_change, ctx.state.settings)
    return HoldReason(HoldKind.QUIET_WINDOW, until=until) if ctx.state.now < until else None


def local_serial(ctx: Context, name: str) -> HoldReason | None:
    """C7, Tilt's rule: a serial local update runs alone among local updates."""
    if ctx.serial_running:
        return HoldReason(HoldKind.LOCAL_SERIAL, tuple(sorted(ctx.serial_running)))
    if serial_local(ctx.state.resources[name]) and ctx.local_running:
        return HoldReason(HoldKind.LOCAL_SERIAL, tuple(sorted(ctx.local_running)))
    return None


def capacity(ctx: Context, name: str) -> HoldReason | None:
    """C7: at most max_parallel_updates at once."""
    return HoldReason(HoldKind.PARALLEL_LIMIT) if ctx.capacity <= 0 else None


RULES: tuple[Rule, ...] = (
    Rule("disabled", Stage.GATE, disabled),
    Rule("manual", Stage.GATE, manual),
    Rule("tiltfile reload", Stage.GATE, tiltfile_reload),
    Rule("upstream failed", Stage.CONDITION, upstream_failed),
    Rule("upstream", Stage.CONDITION, upstream),
    Rule("upstream disabled", Stage.CONDITION, upstream_disabled),
    Rule("writers", Stage.CONDITION, writers),
    Rule("checking writers", Stage.CONDITION, checking_writers),
    Rule("dependent reading", Stage.CONDITION, dependent_reading),
    Rule("quiet window", Stage.CONDITION, quiet_window),
    Rule("local serial", Stage.SLOT, local_serial),
    Rule("capacity", Stage.SLOT, capacity),
)


def holds_for(ctx: Context, name: str, rules: tuple[Rule, ...] = RULES) -> tuple[HoldReason, ...]:
    """Every reason `name` may not start now, by the rules in order; () means it may start."""
    reasons: list[HoldReason] = []
    for rule in rules:
        if rule.stage is Stage.SLOT and reasons:
            break
        hold = rule.check(ctx, name)
        if hold is None:
            continue
        if rule.stage is Stage.GATE:
            return (hold,)
        reasons.append(hold)
        if rule.stage is Stage.SLOT:
            break
    return tuple(reasons)
