"""Update records (C8) and hold reasons: the engine's explanations, as data."""

from __future__ import annotations

import enum
from collections.abc import Set as AbstractSet
from dataclasses import dataclass


class ReasonKind(enum.Enum):
    INITIAL = "initial"
    FILES = "files"
    UPSTREAM = "upstream"
    MANUAL = "manual"
    CONFIG = "config"
    TAINTED = "tainted"


@dataclass(frozen=True)
class Reason:
    kind: ReasonKind
    paths: tuple[str, ...] = ()
    upstream: str = ""

    def describe(self) -> str:
        if self.kind is ReasonKind.FILES:
            shown = ", ".join(self.paths[:3]) + (f" (+{len(self.paths) - 3})" if len(self.paths) > 3 else "")
            return f"files changed: {shown}"
        if self.kind is ReasonKind.UPSTREAM:
            return f"upstream {self.upstream} updated"
        return {
            ReasonKind.INITIAL: "initial update",
            ReasonKind.MANUAL: "manual trigger",
            ReasonKind.CONFIG: "Tiltfile definition changed",
            ReasonKind.TAINTED: "inputs changed during the previous run",
        }[self.kind]

    def to_json(self) -> dict[str, object]:
        d: dict[str, object] = {"kind": self.kind.value}
        if self.paths:
            d["paths"] = list(self.paths)
        if self.upstream:
            d["upstream"] = self.upstream
        return d

    @staticmethod
    def from_json(d: dict[str, object]) -> Reason:
        paths = d.get("paths", [])
        return Reason(
            ReasonKind(str(d["kind"])),
            tuple(str(p) for p in paths) if isinstance(paths, list) else (),
            str(d.get("upstream", "")),
        )


@dataclass(frozen=True)
class Outputs:
    """What a successful update produced, kept in the resource's state for the next one."""

    # Image references built (name:tag or digest), for deploys that use them.
    images: tuple[str, ...] = ()
    # Objects applied (kind/namespace/name), for deploys that must find them again.
    applied: tuple[str, ...] = ()


class UpdateResult(enum.Enum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class UpdateRecord:
    """One update of one resource, as recorded in the history (C8)."""

    id: int
    resource: str
    reasons: tuple[Reason, ...]
    start: float
    end: float | None = None
    result: UpdateResult = UpdateResult.RUNNING
    error: str = ""
    # Inputs changed while it ran: its output may be stale, so it is re-run.
    tainted: bool = False
    # Carried out as a live update (files synced into the running container), not a rebuild.
    live_update: bool = False
    # Upstreams (declared and inferred) in force when it started, for the checker.
    # Usually the topology's own closure set, referenced rather than copied: at
    # thousands of resources a copy per record would dominate memory.
    upstreams: AbstractSet[str] = frozenset()

    def to_json(self, upstreams: bool = True) -> dict[str, object]:
        """As JSON; without the upstreams when the reader finds them elsewhere (listing them costs the graph)."""
        d: dict[str, object] = {
            "id": self.id,
            "resource": self.resource,
            "reasons": [r.to_json() for r in self.reasons],
            "start": self.start,
            "end": self.end,
            "result": self.result.value,
            "error": self.error,
            "tainted": self.tainted,
            "live_update": self.live_update,
        }
        if upstreams:
            # In the set's own order (start order for the topology's sets): sorting
            # thousands of names per record would cost more than writing them.
            d["upstreams"] = list(self.upstreams)
        return d

    @staticmethod
    def from_json(d: dict[str, object]) -> UpdateRecord:
        reasons = d.get("reasons", [])
        ups = d.get("upstreams", [])
        end = d.get("end")
        start = d["start"]
        rid = d["id"]
        assert isinstance(start, int | float) and isinstance(rid, int)
        return UpdateRecord(
            id=rid,
            resource=str(d["resource"]),
            reasons=tuple(Reason.from_json(r) for r in reasons if isinstance(r, dict))
            if isinstance(reasons, list)
            else (),
            start=float(start),
            end=float(end) if isinstance(end, int | float) else None,
            result=UpdateResult(str(d.get("result", "running"))),
            error=str(d.get("error", "")),
            tainted=bool(d.get("tainted", False)),
            live_update=bool(d.get("live_update", False)),
            upstreams=frozenset(str(u) for u in ups) if isinstance(ups, list) else frozenset(),
        )


class HoldKind(enum.Enum):
    WAITING_ON_UPSTREAM = "waiting-on-upstream"
    UPSTREAM_FAILED = "upstream-failed"
    WAITING_FOR_WRITERS = "waiting-for-writers"
    CHECKING_WRITERS = "checking-writers"
    UPSTREAM_DISABLED = "upstream-disabled"
    WAITING_FOR_DEPENDENT = "waiting-for-dependent"
    QUIET_WINDOW = "quiet-window"
    PARALLEL_LIMIT = "parallel-limit"
    LOCAL_SERIAL = "local-serial"
    MANUAL = "manual-trigger"
    DISABLED = "disabled"
    TILTFILE_RELOAD = "tiltfile-reload"


@dataclass(frozen=True)
class HoldReason:
    kind: HoldKind
    subjects: tuple[str, ...] = ()
    until: float | None = None

    def describe(self) -> str:
        names = ", ".join(self.subjects)
        match self.kind:
            case HoldKind.WAITING_ON_UPSTREAM:
                return f"waiting on {names}"
            case HoldKind.UPSTREAM_FAILED:
                return f"blocked: upstream {names} failed"
            case HoldKind.WAITING_FOR_WRITERS:
                return f"waiting for writers: {names}"
            case HoldKind.CHECKING_WRITERS:
                return f"checking whether {names} wrote these files (at most 1s)"
            case HoldKind.UPSTREAM_DISABLED:
                return "; ".join(f"waiting on {n} (disabled: `lockstep enable {n}`)" for n in self.subjects)
            case HoldKind.WAITING_FOR_DEPENDENT:
                return f"waiting for dependent {names} to finish reading"
            case HoldKind.QUIET_WINDOW:
                return "quiet window (files still changing)"
            case HoldKind.PARALLEL_LIMIT:
                return "parallel limit"
            case HoldKind.LOCAL_SERIAL:
                return f"waiting for local update {names} (allow_parallel=False)"
            case HoldKind.MANUAL:
                return "pending changes: trigger to update"
            case HoldKind.DISABLED:
                return "disabled"
            case HoldKind.TILTFILE_RELOAD:
                return "waiting for the Tiltfile to be re-read"
        return self.kind.value

    def to_json(self) -> dict[str, object]:
        return {"kind": self.kind.value, "subjects": list(self.subjects), "text": self.describe()}


class SystemLog(enum.StrEnum):
    """Log streams that belong to no resource (a str: the log store keys streams by name)."""

    # The Tiltfile's own output, errors and warnings, under Tilt's name for it.
    TILTFILE = "(Tiltfile)"
