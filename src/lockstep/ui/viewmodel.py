"""View models: pure functions from (EngineState, Decision) to JSON-ready dicts.

The dashboard, the CLI clients and the live stream all read these, so what a
user sees in the browser and in `lockstep get` is the same computation. Every
time here is absolute (epoch seconds): a view does not depend on `state.now`,
which is what lets the stream send only the resources whose view changed.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Any

from lockstep.engine.scheduler import Decision
from lockstep.model.resource import Resource, TriggerMode
from lockstep.model.update import HoldKind, HoldReason, UpdateRecord, UpdateResult
from lockstep.store.state import EngineState, ProbeStatus, ResourceState, RuntimeStatus

JSON = dict[str, Any]


class UpdateStatus(enum.Enum):
    """Tilt's update statuses, plus the one lockstep adds: held (waiting, with reasons)."""

    NONE = "none"  # nothing to build (a serve-only local_resource)
    PENDING = "pending"  # never ran, or has pending changes and may start soon
    HELD = "held"  # has pending changes, and the scheduler says why it waits
    IN_PROGRESS = "in_progress"
    OK = "ok"
    ERROR = "error"
    DISABLED = "disabled"


def update_status(r: Resource, s: ResourceState, holds: tuple[HoldReason, ...]) -> UpdateStatus:
    if not s.enabled:
        return UpdateStatus.DISABLED
    if s.running is not None:
        return UpdateStatus.IN_PROGRESS
    # A manual resource with pending changes is not "held": it is waiting for
    # the user, and shows as pending with the reason "trigger to update".
    if holds and any(h.kind is not HoldKind.MANUAL for h in holds):
        return UpdateStatus.HELD
    if s.pending or (s.last is None and r.has_update):
        return UpdateStatus.PENDING
    if s.last is None:
        return UpdateStatus.NONE
    return UpdateStatus.ERROR if s.failed else UpdateStatus.OK


def is_ready(r: Resource, s: ResourceState) -> bool:
    """`lockstep wait --for=condition=Ready`: settled.

    One exception: a resource with nothing to build that has never been asked
    to update (auto_init=False) is ready once its runtime is.
    """
    if not r.has_update and s.last is None:
        return s.enabled and s.idle and s.runtime_ok
    return s.settled


def runtime_status(s: ResourceState) -> str:
    # A disabled server is not about to start: "pending" would say it is.
    if not s.enabled and s.runtime is not RuntimeStatus.NONE:
        return "disabled"
    return s.runtime.value


def note(s: ResourceState) -> str:
    """What a resource with nothing pending and no hold is doing, when that is not obvious."""
    if s.enabled and s.last is None and s.running is None and not s.pending and s.trigger_mode is TriggerMode.MANUAL:
        return "not started (manual)"
    return ""


def _duration(rec: UpdateRecord | None) -> float | None:
    if rec is None or rec.end is None:
        return None
    return round(rec.end - rec.start, 3)


def _record_brief(rec: UpdateRecord | None) -> JSON | None:
    """A record for the resource view, without its in-force upstreams.

    Those are the transitive closure (about 1,400 names per resource in a
    10,000-resource layered graph): in every resource view they would make the
    view, and its memory, grow with the square of the graph. /api/history and
    /api/resources/{name} keep them.
    """
    if rec is None:
        return None
    return rec.to_json(upstreams=False)


def _endpoints(r: Resource) -> list[JSON]:
    out: list[JSON] = [{"url": link.url, "name": link.name or link.url} for link in r.links]
    if r.k8s is not None:
        for pf in r.k8s.port_forwards:
            host = pf.host or "localhost"
            url = f"http://{host}:{pf.local_port}/{pf.link_path.lstrip('/')}"
            out.append({"url": url, "name": pf.name or url})
    return out


def _next_update(s: ResourceState, holds: tuple[HoldReason, ...]) -> float | None:
    """When the next update is due, if the only thing in the way is a timer."""
    if not s.pending or s.running is not None:
        return None
    untils = [h.until for h in holds if h.until is not None]
    if untils:
        return min(untils)
    return None if holds else s.pending_since


def probe_text(probe: ProbeStatus | None) -> str:
    """The readiness probe in a few words: "", "ok: HTTP 200 OK", "failing (3 in a row): connection refused"."""
    if probe is None:
        return ""
    if probe.ok:
        return f"ok: {probe.detail}"
    return f"failing ({probe.failures} in a row): {probe.detail}"


def _probe_json(probe: ProbeStatus | None) -> JSON | None:
    # No time of the latest check here: a healthy probe then leaves the view unchanged.
    if probe is None:
        return None
    return {"ok": probe.ok, "detail": probe.detail, "since": probe.since, "failures": probe.failures}


def resource_view(r: Resource, s: ResourceState, holds: tuple[HoldReason, ...]) -> JSON:
    """The summary row of one resource: everything the list, `get` and `wait` need."""
    last = s.last
    return {
        "name": r.name,
        "kind": r.kind.value,
        "labels": list(r.labels),
        "update_status": update_status(r, s, holds).value,
        "runtime_status": runtime_status(s),
        "ready": is_ready(r, s),
        "note": note(s),
        "holds": [h.to_json() for h in holds],
        "hold_text": "; ".join(h.describe() for h in holds),
        "pending": [p.describe() for p in s.pending],
        "pending_since": s.pending_since,
        "running": _record_brief(s.running),
        "last": _record_brief(last),
        "last_duration": _duration(last),
        "next_update": _next_update(s, holds),
        "runtime_since": s.runtime_since,
        "restarts": s.restarts,
        "probe": _probe_json(s.probe),
        "probe_text": probe_text(s.probe),
        "endpoints": _endpoints(r),
        "trigger_mode": s.trigger_mode.value,
        "enabled": s.enabled,
        "upstreams": list(r.resource_deps),
        "has_update": r.has_update,
        "has_runtime": s.has_runtime,
    }


def resource_views(state: EngineState, decision: Decision) -> list[JSON]:
    order = state.topology.order or tuple(state.resources)
    return [
        resource_view(state.resources[n], state.statuses[n], tuple(decision.holds.get(n, ())))
        for n in order
        if n in state.resources and n in state.statuses
    ]


_buttons_cache: tuple[object, list[JSON]] = (None, [])


def _buttons(state: EngineState) -> list[JSON]:
    # Parsed once per loaded configuration (the hub asks on every store batch).
    global _buttons_cache
    if _buttons_cache[0] is not state.config:
        from lockstep.ui.buttons import buttons_of

        _buttons_cache = (state.config, [b.to_json() for b in buttons_of(state.config)])
    return _buttons_cache[1]


def config_view(state: EngineState, args: Iterable[str] = ()) -> JSON:
    return {
        "buttons": _buttons(state),
        "generation": state.config_generation,
        "errors": [e.render() for e in state.config_errors],
        # Also while the evaluation runs (it takes a child process, so it is never instant).
        "reloading": (state.config_dirty_since is not None or state.config_reload_requested
                      or state.config_reloading),
        "args": list(args),
        "max_parallel_updates": state.settings.max_parallel_updates,
        "propagate": state.settings.propagate,
    }


def full_view(state: EngineState, decision: Decision, args: Iterable[str] = ()) -> JSON:
    return {
        "now": state.now,
        "config": config_view(state, args),
        "resources": resource_views(state, decision),
    }


def _definition(r: Resource) -> JSON:
    d: JSON = {
        "deps": list(r.deps),
        "ignore": list(r.ignore),
        "resource_deps": list(r.resource_deps),
        "auto_init": r.auto_init,
        "propagate": r.propagate,
        "location": str(r.location) if r.location else None,
        "images": [i.ref for i in r.images],
    }
    if r.local is not None:
        d["cmd"] = r.local.cmd.display()
        d["serve_cmd"] = r.local.serve_cmd.display()
        d["dir"] = r.local.dir
        d["env"] = [f"{k}={v}" for k, v in r.local.env]
        d["serve_dir"] = r.local.serve_dir
        d["serve_env"] = [f"{k}={v}" for k, v in r.local.serve_env]
        d["allow_parallel"] = r.local.allow_parallel
        probe = r.local.readiness_probe
        d["readiness_probe"] = probe.kind.value if probe else None
    if r.k8s is not None:
        d["objects"] = [o.ref for o in r.k8s.objects]
    if r.compose is not None:
        d["service"] = r.compose.service
    return d


def resource_detail(state: EngineState, decision: Decision, name: str, history_limit: int = 50) -> JSON | None:
    """One resource in full: its view, its definition, its graph neighbours and recent updates."""
    r = state.resources.get(name)
    s = state.statuses.get(name)
    if r is None or s is None:
        return None
    view = resource_view(r, s, tuple(decision.holds.get(name, ())))
    view["definition"] = _definition(r)
    view["inferred_upstreams"] = sorted(u for u, d in state.inferred if d == name)
    view["inferred_downstreams"] = sorted(d for u, d in state.inferred if u == name)
    # What each learnt edge into this resource was learnt from (C4).
    view["inferred_evidence"] = {u: state.evidence.get((u, d), "") for u, d in state.inferred if d == name}
    view["downstreams"] = sorted(state.topology.downs.get(name, frozenset()))
    view["writers"] = sorted(s.writers)
    if s.probe is not None:
        view["probe"] = {**(view["probe"] or {}), "at": s.probe.at}
    view["history"] = history_view(state, resource=name, limit=history_limit)["updates"]
    return view


def history_view(state: EngineState, resource: str | None = None, limit: int = 500) -> JSON:
    """The C8 records (finished, then running), oldest first, with the critical path."""
    records = [r for r in state.history if resource is None or r.resource == resource]
    records = records[-limit:] if limit > 0 else []
    running = [r for r in state.running() if resource is None or r.resource == resource]
    everything = [*records, *sorted(running, key=lambda r: r.start)]
    return {
        "total_finished": state.finished_total,
        "updates": [record_json(r) for r in everything],
        "critical_path": critical_path(everything),
    }


def record_json(r: UpdateRecord) -> JSON:
    d = r.to_json()
    d["reason_text"] = "; ".join(x.describe() for x in r.reasons)
    d["duration"] = _duration(r)
    return d


def critical_path(records: list[UpdateRecord]) -> list[int]:
    """The chain of updates that determined when the last one finished.

    Each update's gate is the latest-ending update of one of its upstreams that
    ended before it started (C1 says it could not start earlier); following
    gates back from the latest-ending update gives the path. Ids, oldest first.
    """
    if not records:
        return []
    by_resource: dict[str, list[UpdateRecord]] = {}
    for rec in sorted(records, key=lambda r: r.end if r.end is not None else float("inf")):
        by_resource.setdefault(rec.resource, []).append(rec)

    def end(rec: UpdateRecord) -> float:
        return rec.end if rec.end is not None else float("inf")

    def gate(rec: UpdateRecord) -> UpdateRecord | None:
        best: UpdateRecord | None = None
        for up in rec.upstreams:
            for cand in by_resource.get(up, ()):
                if cand.end is not None and cand.end <= rec.start + 1e-6 and (best is None or end(cand) > end(best)):
                    best = cand
        return best

    path: list[int] = []
    cur: UpdateRecord | None = max(records, key=end)
    seen: set[int] = set()
    while cur is not None and cur.id not in seen:
        seen.add(cur.id)
        path.append(cur.id)
        cur = gate(cur)
    return path[::-1]


def graph_view(state: EngineState, decision: Decision) -> JSON:
    """Nodes with a layer (longest path from a root) for a left-to-right layout."""
    declared = state.declared_edges()
    inferred = state.inferred - declared
    layer: dict[str, int] = {}
    ups: Mapping[str, frozenset[str]] = state.topology.ups
    for name in state.topology.order:
        layer[name] = 1 + max((layer.get(u, 0) for u in ups.get(name, frozenset())), default=-1)
    nodes = []
    for name in state.topology.order:
        r, s = state.resources.get(name), state.statuses.get(name)
        if r is None or s is None:
            continue
        holds = tuple(decision.holds.get(name, ()))
        nodes.append({
            "name": name,
            "layer": layer.get(name, 0),
            "update_status": update_status(r, s, holds).value,
            "runtime_status": runtime_status(s),
            "labels": list(r.labels),
        })
    return {
        "nodes": nodes,
        "edges": [{"from": u, "to": d, "inferred": False} for u, d in sorted(declared)]
        + [{"from": u, "to": d, "inferred": True} for u, d in sorted(inferred)],
    }


def is_failed(view: JSON) -> bool:
    last = view.get("last")
    return isinstance(last, dict) and last.get("result") == UpdateResult.FAILED.value
