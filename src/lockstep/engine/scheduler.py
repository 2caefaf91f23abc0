"""The pure scheduler: what may start now, and why everything else waits.

`next_updates(state)` is a function of the state alone (the state carries
`now`). It walks the pending resources in topological order and asks the
named hold rules of `engine/rules.py` about each; a resource no rule holds
starts, and takes its slot before the next one is asked. So it enforces C1,
C3, C4, C6 and C7 and gives every waiting resource its typed hold reasons,
and the views can always say why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from lockstep.engine.rules import Context, holds_for
from lockstep.model.update import HoldReason
from lockstep.store.state import EngineState


@dataclass(frozen=True)
class Decision:
    starts: tuple[str, ...] = ()
    holds: Mapping[str, tuple[HoldReason, ...]] = field(default_factory=dict)
    # Earliest time at which a hold ends by itself (a quiet window): tick the store then.
    wake_at: float | None = None


def next_updates(state: EngineState) -> Decision:
    ctx = Context.of(state)
    starts: list[str] = []
    holds: dict[str, tuple[HoldReason, ...]] = {}
    wake_at: float | None = None
    for name in state.topology.order:
        s = state.statuses[name]
        if not s.pending or s.running is not None:
            continue
        reasons = holds_for(ctx, name)
        if reasons:
            holds[name] = reasons
            for h in reasons:
                if h.until is not None:
                    wake_at = h.until if wake_at is None else min(wake_at, h.until)
            continue
        starts.append(name)
        ctx.claim(name)
    return Decision(tuple(starts), holds, wake_at)
