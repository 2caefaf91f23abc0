"""What the incremental scheduler reads of a status on its common path, read directly.

`view_flags` gives the two facts the upstream view reads of a status. `quick_conditions`
gives the condition holds of a plain pending resource, without asking every rule in turn.

After most batches the resources whose condition holds must be re-derived are
the dependents of an update that just finished: enabled, trigger mode auto (or
triggered), no file change on record, no writer or suspect, no running
dependent, under a configuration with no disabled resource and no Tiltfile
reload. For those, of the rules in `engine/rules.py` only `upstream failed` and
`upstream` can hold, and what they say is a function of the upstream view
alone. `quick_conditions` computes exactly that (the same reasons, in the same
order, with the same subjects) and returns None for anything else, which then
takes the generic `holds_for`; the property tests compare both on random states.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from lockstep.model.resource import TriggerMode
from lockstep.model.update import HoldKind, HoldReason, UpdateResult
from lockstep.store.state import ResourceState, RuntimeStatus

Holds = tuple[HoldReason, ...]

_AUTO = TriggerMode.AUTO

# A tuple: `in` compares members by identity first, where a set would call Enum.__hash__ (Python).
_OK_RUNTIMES = tuple(r for r in RuntimeStatus if ResourceState("", runtime=r).runtime_ok)


def view_flags(s: ResourceState) -> tuple[bool, bool]:
    """(`s.settled`, blocking): what the upstream view reads of a status, read once.

    Blocking: its dependents see it as a failed upstream (failed, not running again).

    Spelled out over the fields rather than through the properties, as it runs
    for every changed status; tests/engine/test_incremental.py checks it against
    them.
    """
    last, running = s.last, s.running
    result = last.result if last is not None else None
    settled = (s.enabled and result is UpdateResult.SUCCEEDED and not s.pending and running is None
               and s.runtime in _OK_RUNTIMES)
    return settled, result is UpdateResult.FAILED and running is None


def quick_conditions(
    s: ResourceState, ups: Iterable[str], clear: Mapping[str, bool], failed: frozenset[str],
) -> Holds | None:
    """The condition holds of `s`, or None when it is not plain (see above) and the rules must be asked.

    The caller has checked what is global (no disabled resource, no reload) and that
    no transitive dependent runs; `ups` are the upstreams in force (no ignored edge,
    which needs a disabled resource anyway).
    """
    if not s.enabled or s.writers or s.suspects or s.last_change is not None:
        return None
    if s.trigger_mode is not _AUTO and not s.triggered:
        return None
    waiting = []
    for u in ups:  # a loop, not a comprehension: this runs for a couple of upstreams, often
        if not clear[u]:
            waiting.append(u)
    if not failed:
        if not waiting:
            return ()
        waiting.sort()
        return (HoldReason(HoldKind.WAITING_ON_UPSTREAM, tuple(waiting)),)
    out = HoldReason(HoldKind.UPSTREAM_FAILED, tuple(sorted(failed)))
    waiting = sorted(u for u in waiting if u not in failed)
    return (out, HoldReason(HoldKind.WAITING_ON_UPSTREAM, tuple(waiting))) if waiting else (out,)
