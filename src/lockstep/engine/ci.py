"""When is a `ci` run done?

Success, as in Tilt: every auto-init resource has updated successfully and its
runtime (if any) is ready. Failure is stricter than Tilt's "first failure
ends it": a failed update is final only once nothing else is moving, because
under C4 another update may still write into the failed resource's inputs and
re-trigger it (a Tiltfile with missing resource_deps converges instead of
failing on its first, racy build).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from lockstep.engine.scheduler import Decision, next_updates
from lockstep.engine.snapshot import Snapshot
from lockstep.model.resource import ResourceKind
from lockstep.model.update import HoldKind, UpdateResult
from lockstep.store.state import EngineState, ResourceState, RuntimeStatus

# Holds that mean "will start by itself soon".
# What stopped, in the words of each kind of runtime.
_EXITED = {ResourceKind.LOCAL: "serve process exited", ResourceKind.COMPOSE: "container exited",
           ResourceKind.K8S: "workload exited"}

_MOVING = frozenset({
    HoldKind.QUIET_WINDOW, HoldKind.WAITING_FOR_WRITERS, HoldKind.CHECKING_WRITERS, HoldKind.WAITING_FOR_DEPENDENT,
    HoldKind.PARALLEL_LIMIT, HoldKind.LOCAL_SERIAL, HoldKind.TILTFILE_RELOAD,
})


@dataclass(frozen=True)
class CiVerdict:
    done: bool
    ok: bool
    summary: str


def moving(state: EngineState, decision: Decision) -> bool:
    if decision.starts or any(s.running is not None for s in state.statuses.values()):
        return True
    if any(s.runtime is RuntimeStatus.STARTING for s in state.statuses.values() if s.enabled):
        return True
    return any(h.kind in _MOVING for hs in decision.holds.values() for h in hs)


def ci_verdict(state: EngineState, decision: Decision | None = None) -> CiVerdict:
    if state.config_errors:
        text = "\n".join(d.render() for d in state.config_errors)
        return CiVerdict(True, False, f"Tiltfile failed to load:\n{text}")
    if state.config is None:
        return CiVerdict(False, False, "loading Tiltfile")
    decision = decision or next_updates(state)
    waiting: list[str] = []
    failures: list[str] = []
    for name, r in state.resources.items():
        s = state.statuses[name]
        if not s.enabled or (not r.auto_init and s.last is None and s.running is None):
            continue
        if s.failed and s.running is None and not s.pending:
            failures.append(f"{name} failed: {s.last.error if s.last else ''}")
        elif s.runtime is RuntimeStatus.CRASHED:
            failures.append(f"{name}: {_EXITED.get(r.kind, 'runtime exited')}")
        elif not s.settled:
            why = [h.describe() for h in decision.holds.get(name, ())]
            if not why and s.runtime is not RuntimeStatus.NONE and not s.runtime_ok:
                why = [runtime_text(s)]
            waiting.append(f"{name} ({'; '.join(why)})" if why else name)
    if failures:
        if moving(state, decision):
            return CiVerdict(False, False, "; ".join(failures) + " (other updates still running)")
        return CiVerdict(True, False, "; ".join(failures))
    if waiting:
        return CiVerdict(False, False, "waiting on " + ", ".join(waiting))
    enabled = [n for n in state.resources if state.statuses[n].enabled]
    disabled = [n for n in state.resources if not state.statuses[n].enabled]
    summary = f"all {len(enabled)} enabled resources up to date"
    if disabled:
        summary += f"; {len(disabled)} disabled, not run: {', '.join(disabled)}"
    return CiVerdict(True, True, summary)


class _Is(enum.Enum):
    SKIPPED = "skipped"  # disabled, or not auto_init and never run
    FAILED = "failed"
    WAITING = "waiting"
    DONE = "done"


class CiTracker:
    """Whether `ci` is done, per snapshot, at the cost of what changed in it.

    Keeps each resource's standing (failed, waiting, done) and whether it is
    moving, updated from the snapshot's change set; `ci_verdict` builds the
    words once the answer is yes. Equal to `ci_verdict(...).done` (tested).
    """

    def __init__(self) -> None:
        self._version = -1
        self._state: EngineState | None = None
        self._failed: set[str] = set()
        self._waiting: set[str] = set()
        # Which resources are moving matters only while one has failed: kept from the first
        # failure on (built then over every resource), dropped while nothing has failed, so
        # that a run without failures never looks up a hold reason here.
        self._moving: set[str] | None = None

    def done(self, snap: Snapshot) -> bool:
        state, decision = snap.state, snap.decision
        if state.config_errors:
            return True
        if state.config is None:
            return False
        names: Iterable[str]
        if self._state is None or self._state.config is not state.config or snap.version != self._version + 1:
            self._failed, self._waiting, self._moving = set(), set(), None
            names = state.resources
        else:
            names = snap.changed
        failed, waiting, moving = self._failed, self._waiting, self._moving
        resources, statuses = state.resources, state.statuses
        for name in names:
            r, s = resources.get(name), statuses.get(name)
            if r is None or s is None:
                failed.discard(name)
                waiting.discard(name)
                if moving is not None:
                    moving.discard(name)
                continue
            if moving is not None:
                if _moving(s, decision, name):
                    moving.add(name)
                else:
                    moving.discard(name)
            standing = _standing(r.auto_init, s)
            if standing is _Is.FAILED:
                failed.add(name)
                waiting.discard(name)
            elif standing is _Is.WAITING:
                waiting.add(name)
                failed.discard(name)
            else:
                failed.discard(name)
                waiting.discard(name)
        self._state, self._version = state, snap.version
        if not failed:
            self._moving = None
            return not waiting
        if moving is None:
            moving = self._moving = {n for n, s in statuses.items() if n in resources and _moving(s, decision, n)}
        return not (decision.starts or moving)


def _moving(s: ResourceState, decision: Decision, name: str) -> bool:
    """Running, a runtime starting, or held by something that ends by itself (`moving` for one resource)."""
    return s.running is not None or (s.enabled and s.runtime is RuntimeStatus.STARTING) or any(
        h.kind in _MOVING for h in decision.holds.get(name, ())
    )


def _standing(auto_init: bool, s: ResourceState) -> _Is:
    """The same cases, in the same order, as `ci_verdict`'s loop.

    (`failed` and `settled` spelt out: this runs for every changed resource of every batch.)
    """
    last, running = s.last, s.running
    if not s.enabled or (not auto_init and last is None and running is None):
        return _Is.SKIPPED
    result = last.result if last is not None else None
    if result is UpdateResult.FAILED and running is None and not s.pending:
        return _Is.FAILED
    runtime = s.runtime
    if runtime is RuntimeStatus.CRASHED:
        return _Is.FAILED
    if (result is not UpdateResult.SUCCEEDED or s.pending or running is not None
            or (runtime is not RuntimeStatus.NONE and runtime is not RuntimeStatus.READY)):
        return _Is.WAITING
    return _Is.DONE


def runtime_text(s: ResourceState) -> str:
    """Why a runtime is not ready, for summaries: its probe's last failure when it has one."""
    text = f"runtime {s.runtime.value}"
    if s.probe is not None and not s.probe.ok:
        text += f", readiness probe failing ({s.probe.failures} in a row): {s.probe.detail}"
    return text
