"""Pure reducers: reduce(state, action) -> state. No I/O, no clock reads.

Each handler returns a new EngineState; the maps inside are replaced
copy-on-write, never mutated, so a snapshot handed to a view or a controller
stays valid forever. The statuses map is persistent (model/pmap.py): replacing
one resource's status costs O(sqrt n) amortised, not a copy of every entry, and
the `held_by` index finds the readers a finishing writer held without a scan.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from typing import Any

from lockstep.model.paths import PathIndex
from lockstep.model.pmap import PMap
from lockstep.model.selection import with_upstreams
from lockstep.model.topology import build_topology
from lockstep.model.update import Reason, ReasonKind, UpdateRecord, UpdateResult
from lockstep.store import actions as A
from lockstep.store.compose_retry import Retry, after_reload
from lockstep.store.evolve import evolve
from lockstep.store.history import History
from lockstep.store.inference import learn_edge, note_coincidence, note_quiet_writers
from lockstep.store.state import HISTORY_IN_MEMORY, EngineState, ProbeStatus, ResourceState, RuntimeStatus

_BLANK_RECORD = UpdateRecord(id=0, resource="", reasons=(), start=0.0)
_UPSTREAM_REASON = Reason(ReasonKind.UPSTREAM)


def add_reason(pending: tuple[Reason, ...], reason: Reason) -> tuple[Reason, ...]:
    """Coalesce: one FILES reason with the union of paths, one per upstream, one per kind."""
    if not pending:
        return (reason,)
    out = list(pending)
    for i, r in enumerate(out):
        if r.kind is not reason.kind:
            continue
        if reason.kind is ReasonKind.FILES:
            out[i] = Reason(ReasonKind.FILES, tuple(sorted(set(r.paths) | set(reason.paths))))
            return tuple(out)
        if r.upstream == reason.upstream:
            return pending
    out.append(reason)
    return tuple(out)


def _pend(s: ResourceState, reason: Reason, at: float) -> ResourceState:
    return evolve(
        s,
        pending=add_reason(s.pending, reason),
        pending_since=s.pending_since if s.pending_since is not None else at,
    )


def _put(state: EngineState, changes: dict[str, ResourceState], **fields: Any) -> EngineState:
    """The state with these statuses replaced (and other fields set)."""
    return evolve(state, statuses=PMap.of(state.statuses).update(changes), **fields)


def _hold_index(
    held_by: Mapping[str, frozenset[str]], reader: str, by: AbstractSet[str]
) -> Mapping[str, frozenset[str]]:
    """`held_by` with `reader` added under each update in `by` (few: the ones running)."""
    if not by:
        return held_by
    out = dict(held_by)
    for w in by:
        out[w] = out.get(w, frozenset()) | {reader}
    return out


def _initial_runtime(s: ResourceState) -> RuntimeStatus:
    return RuntimeStatus.PENDING if s.has_runtime else RuntimeStatus.NONE


def _retopologize(state: EngineState, inferred: frozenset[tuple[str, str]]) -> EngineState:
    edges = state.declared_edges() | inferred
    evidence = {e: t for e, t in state.evidence.items() if e in inferred}
    return evolve(state, inferred=inferred, evidence=evidence, topology=build_topology(state.resources, edges))


def _config_loaded(state: EngineState, a: A.ConfigLoaded) -> EngineState:
    result = a.result
    new = {r.name: r for r in result.resources}
    # Selecting a resource (args, config.set_enabled_resources) also selects its resource_deps, as in Tilt.
    wanted = (
        set(with_upstreams(result.enabled_resources, result.resources))
        if result.enabled_resources is not None else None
    )
    rs: dict[str, ResourceState] = {}
    for name, r in new.items():
        prev = state.statuses.get(name)
        enabled = wanted is None or name in wanted
        has_runtime = name in a.runtimes
        if prev is None:
            s = ResourceState(name, enabled=enabled, trigger_mode=r.trigger_mode, has_runtime=has_runtime)
            s = evolve(s, runtime=_initial_runtime(s))
            if enabled and r.auto_init:
                s = _pend(s, Reason(ReasonKind.INITIAL), a.at)
        else:
            s = prev
            if state.resources.get(name) != r or s.has_runtime != has_runtime:
                s = evolve(s, trigger_mode=r.trigger_mode, has_runtime=has_runtime)
                if not has_runtime:
                    s = evolve(s, runtime=RuntimeStatus.NONE)
                elif s.runtime is RuntimeStatus.NONE:
                    s = evolve(s, runtime=RuntimeStatus.PENDING)
                if s.enabled and (s.last is not None or s.running is not None or r.auto_init):
                    s = _pend(s, Reason(ReasonKind.CONFIG), a.at)
            else:
                # An edit elsewhere in its Compose project (store/compose_retry.py).
                retry = after_reload(s, state.resources.get(name), r)
                if retry is Retry.NOW:
                    s = _pend(s, Reason(ReasonKind.CONFIG), a.at)
                elif retry is Retry.IF_FAILED:
                    s = evolve(s, retry_if_failed=True)
            if wanted is not None and s.enabled != enabled:
                s = _set_enabled(s, enabled, a.at)
        rs[name] = s
    # The loader reports the Tiltfile's absolute path: no working directory is consulted here.
    base_dir = posixpath.dirname(result.tiltfile)
    state = evolve(
        state,
        config=result,
        resources=new,
        statuses=PMap(rs),
        held_by={w: frozenset(r for r in readers if r in new) for w, readers in state.held_by.items() if w in new},
        settings=result.settings,
        paths=PathIndex(base_dir, result.resources, result.settings.watch_ignore, root_dirs=a.root_dirs),
        config_errors=(),
        config_reloading=False,
        config_generation=state.config_generation + 1,
    )
    kept = frozenset(e for e in state.inferred if e[0] in new and e[1] in new)
    return _retopologize(state, kept)


def _set_enabled(s: ResourceState, enabled: bool, at: float) -> ResourceState:
    if enabled == s.enabled:
        return s
    if not enabled:
        return evolve(
            s, enabled=False, pending=(), pending_since=None, writers=frozenset(), suspects=frozenset(),
            triggered=False, runtime=_initial_runtime(s),
        )
    return _pend(evolve(s, enabled=True), Reason(ReasonKind.INITIAL), at)


def _files_changed(state: EngineState, a: A.FilesChanged) -> EngineState:
    if state.paths is None:
        return state
    groups = state.paths.group(a.paths)
    if not groups:
        return state
    running = {s.running.resource for s in state.statuses.values() if s.running is not None}
    rs: dict[str, ResourceState] = {}
    held_by = state.held_by
    seen: list[tuple[str, str, tuple[str, ...]]] = []
    for name, paths in groups.items():
        s = state.statuses[name]
        if not s.enabled:
            continue
        s = evolve(_pend(s, Reason(ReasonKind.FILES, paths), a.at), last_change=a.at)
        if s.running is not None:
            s = evolve(s, running=evolve(s.running, tainted=True))
        # Running updates are only suspects (C4): a hold of at most a second,
        # no edge, until the evidence controller sees one of them writing. Its upstreams are
        # none: C1 already holds it until they settle, and an edge to one would say nothing new.
        others = {w for w in running if w != name} - state.topology.all_ups.get(name, frozenset())
        s = evolve(s, suspects=s.suspects | (others - s.writers))
        rs[name] = s
        held_by = _hold_index(held_by, name, others)
        seen.extend((w, name, paths) for w in sorted(others))
    state = _put(state, rs, held_by=held_by)
    for name in groups:
        state = note_quiet_writers(state, name, running)
    for w, name, paths in seen:
        state = note_coincidence(state, w, name, paths)
    return state


def _writer_evidence(state: EngineState, a: A.WriterEvidence) -> EngineState:
    s = state.statuses.get(a.reader)
    ws = state.statuses.get(a.writer)
    if s is None or ws is None or ws.running is None or not s.enabled:
        return state
    # Seen writing: the reader waits for the writer to finish, then for quiet files.
    s = evolve(s, writers=s.writers | {a.writer}, suspects=s.suspects - {a.writer})
    state = _put(state, {a.reader: s}, held_by=_hold_index(state.held_by, a.reader, {a.writer}))
    return learn_edge(state, a.writer, a.reader, a.paths, a.evidence)


def _upstreams_in_force(state: EngineState, name: str) -> AbstractSet[str]:
    """Transitive upstreams, minus those reached only through a disabled inferred upstream (which holds nothing).

    Usually the topology's closure itself, shared with every record of this resource.
    """
    if not state.inferred or not any(
        not state.statuses[u].enabled for u, _ in state.inferred if u in state.statuses
    ):
        return state.topology.all_ups.get(name, frozenset())
    seen: set[str] = set()
    stack = [name]
    while stack:
        n = stack.pop()
        for u in state.topology.ups.get(n, frozenset()):
            if u in seen or ((u, n) in state.inferred and not state.statuses[u].enabled):
                continue
            seen.add(u)
            stack.append(u)
    return frozenset(seen)


def _update_started(state: EngineState, a: A.UpdateStarted, now: float) -> EngineState:
    s = state.statuses.get(a.resource)
    if s is None or s.running is not None:
        return state
    # (From a blank record: cheaper than a frozen dataclass's __init__, once per update.)
    reasons = s.pending or (Reason(ReasonKind.MANUAL),)
    record = evolve(_BLANK_RECORD, id=a.update_id, resource=a.resource, reasons=reasons, start=a.at,
                    upstreams=_upstreams_in_force(state, a.resource))
    s = evolve(
        s, pending=(), pending_since=None, writers=frozenset(), suspects=frozenset(), triggered=False, running=record
    )
    return _put(state, {a.resource: s}, now=now)


def _update_finished(state: EngineState, a: A.UpdateFinished, now: float) -> EngineState:
    s = state.statuses.get(a.resource)
    if s is None or s.running is None or s.running.id != a.update_id:
        return state
    result = UpdateResult.SUCCEEDED if a.ok else UpdateResult.CANCELLED if a.cancelled else UpdateResult.FAILED
    record = evolve(s.running, end=a.at, result=result, error=a.error, live_update=a.live_update)
    # One copy of the resource's state with every change (this runs once per update).
    fields: dict[str, Any] = {"running": None, "last": record}
    if a.ok:
        fields["outputs"] = a.outputs
    if record.tainted:
        fields["pending"] = add_reason(s.pending, Reason(ReasonKind.TAINTED))
        if s.pending_since is None:
            fields["pending_since"] = a.at
    if s.retry_if_failed:
        # Its Compose project was edited while this `up` ran (store/compose_retry.py).
        fields["retry_if_failed"] = False
        if result is UpdateResult.FAILED and s.enabled:
            fields["pending"] = add_reason(fields.get("pending", s.pending), Reason(ReasonKind.CONFIG))
            fields.setdefault("pending_since", s.pending_since if s.pending_since is not None else a.at)
    if a.ok and s.has_runtime and s.enabled:
        # The runtime is about to be (re)started by its controller: until it
        # reports ready, the resource is not settled (C1 for dependents).
        fields["runtime"], fields["runtime_since"] = RuntimeStatus.STARTING, a.at
    rs = {a.resource: evolve(s, **fields)}
    held_by = state.held_by
    if a.resource in held_by:
        held_by = {w: readers for w, readers in held_by.items() if w != a.resource}
        # Only the readers it held (the index may name more: each is checked).
        for name in sorted(state.held_by[a.resource]):
            other = state.statuses.get(name)
            if other is None or name == a.resource:
                continue
            if a.resource in other.writers:
                # The writer is done: the reader's files must be quiet again (C4).
                last = max(other.last_change or a.at, a.at)
                rs[name] = evolve(other, writers=other.writers - {a.resource}, last_change=last)
            elif a.resource in other.suspects:
                # Never seen writing: the change was an ordinary one, no longer held.
                rs[name] = evolve(other, suspects=other.suspects - {a.resource})
    if a.ok and state.settings.propagate:
        downs = state.topology.downs.get(a.resource)
        inferred = state.inferred
        because = evolve(_UPSTREAM_REASON, upstream=a.resource)  # one value for every dependent
        for d in sorted(downs) if downs else ():
            # Inferred edges only add ordering: a real writer's writes already
            # make the reader stale (FILES), and an edge learnt from a user's
            # edit must not cause rebuilds nobody asked for.
            if inferred and (a.resource, d) in inferred:
                continue
            ds = rs.get(d) or state.statuses[d]
            if ds.enabled and state.resources[d].propagate:
                rs[d] = _pend(ds, because, a.at)
    history = History.of(state.history).append(record, HISTORY_IN_MEMORY)
    return _put(state, rs, held_by=held_by, history=history, finished_total=state.finished_total + 1, now=now)


def _patch(state: EngineState, name: str, **changes: Any) -> EngineState:
    s = state.statuses.get(name)
    if s is None:
        return state
    return _put(state, {name: evolve(s, **changes)})


def _probe_result(state: EngineState, a: A.ProbeResult) -> EngineState:
    s = state.statuses.get(a.resource)
    if s is None:
        return state
    prev = s.probe
    since = prev.since if prev is not None and prev.ok == a.ok else a.at
    failures = 0 if a.ok else (prev.failures if prev is not None else 0) + 1
    return _patch(state, a.resource, probe=ProbeStatus(a.ok, a.detail, a.at, since, failures))


def _trigger(state: EngineState, a: A.Trigger) -> EngineState:
    s = state.statuses.get(a.resource)
    if s is None or not s.enabled:
        return state
    s = evolve(_pend(s, Reason(ReasonKind.MANUAL), a.at), triggered=True)
    return _put(state, {a.resource: s})


def _restore_inferred(state: EngineState, a: A.RestoreInferred) -> EngineState:
    edges = a.edges
    declared = state.declared_edges()
    inferred = set(state.inferred)
    topology = state.topology
    for u, d in sorted(edges):
        if u not in state.resources or d not in state.resources or u == d:
            continue
        # Skip what is already ordered (learnt before a resource_deps was added)
        # and what would close a cycle.
        if (u, d) in declared or (u, d) in inferred or topology.reaches(u, d) or topology.reaches(d, u):
            continue
        inferred.add((u, d))
        topology = build_topology(state.resources, declared | inferred)
    known = dict(a.evidence)
    evidence = {**state.evidence, **{e: known.get(e) or "learnt in an earlier run" for e in inferred - state.inferred}}
    return evolve(state, inferred=frozenset(inferred), evidence=evidence, topology=topology)


def reduce(state: EngineState, action: A.Action) -> EngineState:
    now = state.now if state.now >= action.at else action.at
    match action:
        # The hot pair (twice per update): `now` goes into the handler's one copy of the state.
        case A.UpdateStarted():
            out = _update_started(state, action, now)
            return out if out is not state or now == state.now else evolve(state, now=now)
        case A.UpdateFinished():
            out = _update_finished(state, action, now)
            return out if out is not state or now == state.now else evolve(state, now=now)
    if now != state.now:
        state = evolve(state, now=now)
    match action:
        case A.ConfigLoaded():
            return _config_loaded(state, action)
        case A.ConfigFailed(errors=errors):
            return evolve(state, config_errors=errors, config_reloading=False)
        case A.FilesChanged():
            return _files_changed(state, action)
        case A.ConfigFilesChanged(at=at):
            since = state.config_dirty_since if state.config_dirty_since is not None else at
            return evolve(state, config_dirty_since=since, config_last_change=at)
        case A.ConfigReloadStarted():
            return evolve(
                state, config_dirty_since=None, config_last_change=None, config_reloading=True,
                config_reload_requested=False,
            )
        case A.ReloadRequested():
            return evolve(state, config_reload_requested=True)
        case A.RuntimeStarted(resource=name, at=at):
            return _patch(state, name, runtime=RuntimeStatus.STARTING, runtime_since=at, probe=None)
        case A.ProbeResult():
            return _probe_result(state, action)
        case A.RuntimeReady(resource=name, ready=ready, at=at):
            status = RuntimeStatus.READY if ready else RuntimeStatus.NOT_READY
            return _patch(state, name, runtime=status, runtime_since=at)
        case A.RuntimeExited(resource=name, at=at):
            s = state.statuses.get(name)
            restarts = s.restarts + 1 if s else 0
            return _patch(state, name, runtime=RuntimeStatus.CRASHED, runtime_since=at, restarts=restarts)
        case A.RuntimeStopped(resource=name, at=at):
            stopped = state.statuses.get(name)
            status = _initial_runtime(stopped) if stopped else RuntimeStatus.NONE
            return _patch(state, name, runtime=status, runtime_since=at)
        case A.Trigger():
            return _trigger(state, action)
        case A.SetEnabled(resource=name, enabled=enabled, at=at):
            s = state.statuses.get(name)
            if s is None:
                return state
            return _put(state, {name: _set_enabled(s, enabled, at)})
        case A.SetTriggerMode(resource=name, mode=mode):
            return _patch(state, name, trigger_mode=mode)
        case A.RestoreInferred():
            return _restore_inferred(state, action)
        case A.WriterEvidence():
            return _writer_evidence(state, action)
        case A.ForgetInferred(edges=edges):
            return _retopologize(state, state.inferred - edges)
        case A.ForgetAllInferred():
            return _retopologize(state, frozenset())
        case A.Tick():
            return state
    return state

