"""When is a `ci` run done? Tilt's rule: every auto-init resource has updated
successfully and its runtime (if any) is ready; the first failure ends it."""

from __future__ import annotations

from dataclasses import dataclass

from lockstep.store.state import EngineState, RuntimeStatus


@dataclass(frozen=True)
class CiVerdict:
    done: bool
    ok: bool
    summary: str


def ci_verdict(state: EngineState) -> CiVerdict:
    if state.config_errors:
        text = "\n".join(d.render() for d in state.config_errors)
        return CiVerdict(True, False, f"Tiltfile failed to load:\n{text}")
    if state.config is None:
        return CiVerdict(False, False, "loading Tiltfile")
    waiting: list[str] = []
    for name, r in state.resources.items():
        s = state.rs[name]
        if not s.enabled or (not r.auto_init and s.last is None and s.running is None):
            continue
        if s.failed and s.running is None and not s.pending:
            err = s.last.error if s.last else ""
            return CiVerdict(True, False, f"{name} failed: {err}")
        if s.runtime is RuntimeStatus.CRASHED:
            return CiVerdict(True, False, f"{name}: serve process exited")
        if not (s.succeeded and s.running is None and not s.pending and s.runtime_ok):
            waiting.append(name)
    if waiting:
        return CiVerdict(False, False, "waiting on " + ", ".join(waiting))
    return CiVerdict(True, True, f"all {len(state.resources)} resources up to date")
