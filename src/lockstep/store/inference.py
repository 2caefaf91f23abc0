"""Learning inferred edges (C4), pure: only on evidence that the writer wrote the reader's inputs.

A change to R's files while W runs makes W a *suspect* (a short hold, no edge).
An edge W -> R is learnt when the evidence controller saw W's processes writing
(WriterEvidence), or when R's files changed during enough separate runs of W.
"""

from __future__ import annotations

from dataclasses import replace

from lockstep.model.topology import build_topology
from lockstep.store.state import EngineState

# Separate runs of W during which R's files changed, with no other evidence and
# never while W was idle, after which the coincidence itself counts as evidence.
# A command that never finishes has one run only, so it is never learnt this way.
COINCIDENCE_RUNS = 3


def learn_edge(state: EngineState, writer: str, reader: str, paths: tuple[str, ...], evidence: str) -> EngineState:
    """Add writer -> reader as an inferred edge, when it adds ordering and closes no cycle."""
    edge = (writer, reader)
    if writer not in state.resources or reader not in state.resources or writer == reader:
        return state
    declared = state.declared_edges()
    topology = state.topology
    # Already ordered (directly or through a chain): nothing to learn.
    if edge in declared or edge in state.inferred or topology.reaches(writer, reader):
        return state
    # A path the writer itself watches is more likely a user edit to a shared
    # source than the writer's output: no inference from it.
    if state.paths is not None and paths and all(state.paths.watched_by(writer, p) for p in paths):
        return state
    # Inference only adds ordering; never where it would close a cycle.
    if topology.reaches(reader, writer):
        return state
    inferred = state.inferred | {edge}
    return replace(
        state,
        inferred=inferred,
        evidence={**state.evidence, edge: evidence},
        topology=build_topology(state.resources, declared | inferred),
    )


def note_quiet_writers(state: EngineState, reader: str, running: set[str]) -> EngineState:
    """R's files changed while W was *not* running: W's coincidences with R were chance (a user's edits)."""
    stale = [k for k in state.coincidences if k[1] == reader and k[0] not in running]
    if not stale:
        return state
    return replace(state, coincidences={k: v for k, v in state.coincidences.items() if k not in stale})


def note_coincidence(state: EngineState, writer: str, reader: str, paths: tuple[str, ...]) -> EngineState:
    """R's files changed while W's current run was going on: count the run; learn after enough."""
    ws = state.statuses.get(writer)
    if ws is None or ws.running is None or (writer, reader) in state.inferred:
        return state
    if state.paths is not None and all(state.paths.watched_by(writer, p) for p in paths):
        return state
    key = (writer, reader)
    runs = state.coincidences.get(key, ())
    if ws.running.id in runs:
        return state
    runs = (*runs, ws.running.id)[-COINCIDENCE_RUNS:]
    state = replace(state, coincidences={**state.coincidences, key: runs})
    if len(runs) < COINCIDENCE_RUNS:
        return state
    shown = ", ".join(f"#{i}" for i in runs)
    return learn_edge(state, writer, reader, paths, f"{reader}'s files changed during {len(runs)} separate runs "
                      f"of {writer} ({shown})")
