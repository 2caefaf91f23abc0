"""History checker: verifies C1, C4 and C6 over any recorded run (C8).

Works on records alone: each record carries the upstreams (declared and
inferred, transitive) that were in force when it started.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass

from lockstep.model.update import UpdateRecord, UpdateResult

_INF = float("inf")


@dataclass(frozen=True)
class Violation:
    rule: str
    record: int
    message: str

    def __str__(self) -> str:
        return f"{self.rule} (update #{self.record}): {self.message}"


def check_history(records: Iterable[UpdateRecord], *, quiescent: bool = False) -> list[Violation]:
    """Return every violation; an empty list means the history is clean.

    quiescent: the run ended with nothing pending, so every tainted run must
    have been followed by a re-run.
    """
    by_resource: dict[str, list[UpdateRecord]] = {}
    for r in sorted(records, key=lambda r: (r.start, r.id)):
        by_resource.setdefault(r.resource, []).append(r)
    starts = {name: [r.start for r in rs] for name, rs in by_resource.items()}
    out: list[Violation] = []
    for name, rs in by_resource.items():
        for r in rs:
            r_end = r.end if r.end is not None else _INF
            for up in r.upstreams:
                ups = by_resource.get(up, [])
                # Updates of the upstream that started before r ended.
                hi = bisect.bisect_left(starts.get(up, []), r_end)
                before: UpdateRecord | None = None
                for u in ups[:hi]:
                    u_end = u.end if u.end is not None else _INF
                    if u.start <= r.start < u_end:
                        out.append(Violation("C1", r.id, f"{name} started while upstream {up} (#{u.id}) was running"))
                    elif r.start < u.start < r_end:
                        out.append(Violation("C4", r.id, f"upstream {up} (#{u.id}) ran during {name}'s update"))
                    if u_end <= r.start and (before is None or u_end >= (before.end or 0)):
                        before = u
                if before is None:
                    out.append(Violation("C1", r.id, f"{name} started before upstream {up} had ever updated"))
                elif before.result is not UpdateResult.SUCCEEDED:
                    out.append(
                        Violation("C6", r.id, f"{name} started while upstream {up}'s last update #{before.id} failed")
                    )
        if quiescent:
            for i, r in enumerate(rs):
                if r.tainted and i == len(rs) - 1:
                    out.append(Violation("C5", r.id, f"{name}'s tainted update was never re-run"))
    return out
