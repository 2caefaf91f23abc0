"""When is a `ci` run done?

Success, as in Tilt: every auto-init resource has updated successfully and its
runtime (if any) is ready. Failure is stricter than Tilt's "first failure
ends it": a failed update is final only once nothing else is moving, because
under C4 another update may still write into the failed resource's inputs and
re-trigger it (a Tiltfile with missing resource_deps converges instead of
failing on its first, racy build).
"""

from __future__ import annotations

from dataclasses import dataclass

from lockstep.engine.scheduler import Decision, next_updates
from lockstep.model.update import HoldKind
from lockstep.store.state import EngineState, ResourceState, RuntimeStatus

# Holds that mean "will start by itself soon".
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
            failures.append(f"{name}: serve process exited")
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


def runtime_text(s: ResourceState) -> str:
    """Why a runtime is not ready, for summaries: its probe's last failure when it has one."""
    text = f"runtime {s.runtime.value}"
    if s.probe is not None and not s.probe.ok:
        text += f", readiness probe failing ({s.probe.failures} in a row): {s.probe.detail}"
    return text
