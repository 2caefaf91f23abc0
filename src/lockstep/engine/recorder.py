"""What the engine writes down after each step: history, hold changes, inferred edges.

A snapshot subscriber in all but name (the engine calls it from its step, so
the files never lag the snapshot anyone sees). The file formats are
`engine/persist.py`'s.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from lockstep.engine.jsonline import holds_line_after, holds_prefix
from lockstep.engine.persist import StateFiles, graph_text, read_history, update_text
from lockstep.engine.scheduler import Decision
from lockstep.logs.disk import DiskHealth
from lockstep.model.topology import Topology
from lockstep.model.update import HoldReason, UpdateRecord, UpdateResult
from lockstep.store.state import EngineState


class Recorder:
    def __init__(self, directory: Path, health: DiskHealth | None = None) -> None:
        # Update ids continue the recorded history (C8: ids are unique across runs).
        self.first_update_id = 1 + max((r.id for r in read_history(directory)), default=0)
        self._files = StateFiles(directory, health)
        self._written = 0
        # The graph line records refer to (persist.py), and its number in the history.
        self._graph: Topology | None = None
        self._graph_id = 0
        self._holds: dict[str, tuple[HoldReason, ...]] = {}
        self._inferred_saved: frozenset[tuple[str, str]] = frozenset()

    def record(self, state: EngineState, decision: Decision, changed: Iterable[str] | None = None) -> None:
        """`changed`: the only names whose holds may differ from the last call (None: any).

        Each file gets the step's lines in one write (and the history one flush), not one per line.
        """
        history: list[str] = []
        new = state.finished_total - self._written
        if new > 0:
            for record in state.history[-new:]:
                self._lines(state, record, history)
            self._written = state.finished_total
        if state.inferred != self._inferred_saved:
            self._inferred_saved = state.inferred
            self._files.save_inferred(state.inferred, state.evidence)
        holds: list[str] = []
        known, by_name = self._holds, decision.holds
        prefix = holds_prefix(state.now)
        names = set(known) | set(by_name) if changed is None else changed
        for name in names:
            held = by_name.get(name, ())
            if known.get(name, ()) != held:
                holds.append(holds_line_after(prefix, name, held))
                if held:
                    known[name] = held
                else:
                    known.pop(name, None)
        if history or holds:
            self._files.append_text("".join(history), "".join(holds))

    def _lines(self, state: EngineState, record: UpdateRecord, out: list[str]) -> None:
        """The record, naming the current graph when its upstreams are its closure there (one int compare)."""
        topology = state.topology
        closure = topology.all_ups.get(record.resource)
        if closure is None or record.upstreams != closure:
            out.append(update_text(record))
            return
        if self._graph is not topology:
            self._graph, self._graph_id = topology, self._graph_id + 1
            out.append(graph_text(self._graph_id, topology.ups))
        out.append(update_text(record, self._graph_id))

    def close(self, state: EngineState, now: float) -> None:
        # Updates cut short by the shutdown are history too (C8).
        lines: list[str] = []
        for s in state.statuses.values():
            if s.running is not None:
                self._lines(state, replace(s.running, end=now, result=UpdateResult.CANCELLED, error="shutdown"), lines)
        self._files.append_text("".join(lines), "")
        self._files.close()
