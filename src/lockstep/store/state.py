"""The engine state: one frozen value, replaced (never mutated) by reducers."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from lockstep.model.paths import PathIndex
from lockstep.model.resource import Diagnostic, LoadResult, Resource, Settings, TriggerMode
from lockstep.model.topology import Topology
from lockstep.model.update import Outputs, Reason, UpdateRecord, UpdateResult

# In-memory history is bounded; the complete history is on disk (history file).
HISTORY_IN_MEMORY = 5000


class RuntimeStatus(enum.Enum):
    NONE = "none"  # the resource has no runtime
    PENDING = "pending"  # has one, not started yet
    STARTING = "starting"
    READY = "ready"
    NOT_READY = "not-ready"
    CRASHED = "crashed"


@dataclass(frozen=True)
class ProbeStatus:
    """The readiness probe's latest result, so that a runtime that is not ready can say why."""

    ok: bool
    detail: str  # what the check saw: "HTTP 503 Service Unavailable", "connection refused (...)"
    at: float  # the latest check
    since: float  # this result (ok or failing) since
    failures: int = 0  # consecutive failed checks


@dataclass(frozen=True)
class ResourceState:
    name: str
    enabled: bool = True
    # Some runtime controller supervises its runtime (a serve_cmd, a workload).
    has_runtime: bool = False
    trigger_mode: TriggerMode = TriggerMode.AUTO
    # Reasons accumulated for the next update (C5: coalesced into one update).
    pending: tuple[Reason, ...] = ()
    pending_since: float | None = None
    # Last file change among its watched paths (quiet window, C3/C4).
    last_change: float | None = None
    # Updates seen writing its files (C4, on evidence): it waits for them to finish.
    writers: frozenset[str] = frozenset()
    # Updates that were running when its files changed, with no evidence yet that
    # they wrote them: a short hold while the evidence is looked for.
    suspects: frozenset[str] = frozenset()
    triggered: bool = False
    running: UpdateRecord | None = None
    last: UpdateRecord | None = None
    runtime: RuntimeStatus = RuntimeStatus.NONE
    runtime_since: float | None = None
    restarts: int = 0
    probe: ProbeStatus | None = None
    # What the last successful update produced (handed to the next one).
    outputs: Outputs = field(default_factory=Outputs)
    # Its Compose project was edited while its update ran with the project as it was: should
    # that update fail, it is retried (as a failed service is when its project is edited).
    retry_if_failed: bool = False

    @property
    def failed(self) -> bool:
        return self.last is not None and self.last.result is UpdateResult.FAILED

    @property
    def succeeded(self) -> bool:
        return self.last is not None and self.last.result is UpdateResult.SUCCEEDED

    @property
    def runtime_ok(self) -> bool:
        return self.runtime in (RuntimeStatus.NONE, RuntimeStatus.READY)

    @property
    def idle(self) -> bool:
        """Nothing pending and nothing running."""
        return not self.pending and self.running is None

    @property
    def settled(self) -> bool:
        """*Settled* as the README defines it under C1 ("The lockstep contract"): the one definition.

        `ci`'s verdict and `wait --for=condition=Ready` use it too.
        """
        return self.enabled and self.succeeded and self.idle and self.runtime_ok


def quiet_until(first_change: float, last_change: float, settings: Settings) -> float:
    """When a burst of changes counts as over (C3): quiet for the window, or waited the maximum."""
    return min(last_change + settings.quiet_secs, first_change + settings.max_wait_secs)


@dataclass(frozen=True)
class EngineState:
    now: float = 0.0
    config: LoadResult | None = None
    resources: Mapping[str, Resource] = field(default_factory=dict)
    # Each resource's state (its status in the loop), by name.
    # (A PMap once a reducer has touched it: replacing one entry copies only what changed.)
    statuses: Mapping[str, ResourceState] = field(default_factory=dict)
    # Running update -> resources whose `writers` or `suspects` may name it (a superset,
    # checked on use): its end releases those, found without a walk of every status.
    held_by: Mapping[str, frozenset[str]] = field(default_factory=dict)
    settings: Settings = field(default_factory=Settings)
    # (writer, reader) pairs learnt from observation (C4).
    inferred: frozenset[tuple[str, str]] = frozenset()
    # What each inferred edge was learnt from (shown by `why` and `graph`, persisted).
    evidence: Mapping[tuple[str, str], str] = field(default_factory=dict)
    # (writer, reader) -> ids of the writer's runs during which the reader's
    # files changed without other evidence; enough separate runs is evidence too.
    coincidences: Mapping[tuple[str, str], tuple[int, ...]] = field(default_factory=dict)
    topology: Topology = field(default_factory=Topology)
    paths: PathIndex | None = None
    # The last HISTORY_IN_MEMORY updates, oldest first (a store/history.py History once an
    # update has finished: appending one costs O(1), not a copy of the rest).
    history: Sequence[UpdateRecord] = ()
    # Count of updates finished so far (the history tuple is bounded).
    finished_total: int = 0
    config_errors: tuple[Diagnostic, ...] = ()
    # A Tiltfile (or a file it read) changed and is waiting for its quiet window.
    config_dirty_since: float | None = None
    config_last_change: float | None = None
    # The Tiltfile is being evaluated again (from ConfigReloadStarted to ConfigLoaded/ConfigFailed).
    config_reloading: bool = False
    # A reload was asked for explicitly: it starts at once.
    config_reload_requested: bool = False
    config_generation: int = 0

    @property
    def rs(self) -> Mapping[str, ResourceState]:
        """The older name of `statuses`, still read by some callers."""
        return self.statuses

    def running(self) -> tuple[UpdateRecord, ...]:
        return tuple(s.running for s in self.statuses.values() if s.running is not None)

    def declared_edges(self) -> frozenset[tuple[str, str]]:
        return frozenset(
            (u, r.name) for r in self.resources.values() for u in r.resource_deps if u in self.resources
        )
