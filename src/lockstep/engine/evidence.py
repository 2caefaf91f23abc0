"""Evidence controller: looks for proof that a suspect update wrote a reader's files (C4).

When a resource's files change while other updates run, the reducer makes those
updates *suspects* and the scheduler holds the reader briefly. This controller
then looks at each suspect's process group (adapters.write_evidence), at once
and twice more shortly after (a writer caught between two files is still
writing), and reports what it saw as WriterEvidence. It reports nothing when
it sees nothing: the hold then simply expires.
"""

from __future__ import annotations

import functools

from lockstep.adapters.write_evidence import ProcessGroups
from lockstep.engine.engine import Engine
from lockstep.model.update import ReasonKind
from lockstep.store import actions as A
from lockstep.store.state import EngineState

# Looks after the first, relative to the change; all within the hold (quiet + 1 s).
RECHECKS = (0.1, 0.3, 0.6)


class EvidenceController:
    def __init__(self, engine: Engine, groups: ProcessGroups) -> None:
        self.engine = engine
        self.groups = groups
        # reader -> the last_change already being checked.
        self._checked: dict[str, float] = {}
        # (writer's update id, reader) already reported: one log line per writer run.
        self._reported: set[tuple[int, str]] = set()
        self._known_edges: frozenset[tuple[str, str]] = frozenset()
        engine.subscribe(lambda snap: self._on_state(snap.state))

    def _on_state(self, state: EngineState) -> None:
        self._log_new_edges(state)
        due = []
        for name, s in state.statuses.items():
            if not (s.suspects - s.writers) or s.last_change is None:
                continue
            if self._checked.get(name) == s.last_change:
                continue
            self._checked[name] = s.last_change
            due.append(name)
        if due:
            self._check(state, due)
            change = {n: state.statuses[n].last_change for n in due}
            self.engine.spawn(self._recheck(change), "write-evidence")

    def _log_new_edges(self, state: EngineState) -> None:
        """One line on the reader's log per edge learnt (or restored), with what it was learnt from."""
        if state.inferred == self._known_edges:
            return
        fresh = sorted(state.inferred - self._known_edges)
        self._known_edges = state.inferred
        # Before any update has finished or been seen writing, new edges can only be the ones
        # restored from an earlier run (coincidences need finished runs).
        word = "restored learnt edge" if state.finished_total == 0 and not self._reported else "learnt edge"
        for up, down in fresh:
            self.engine.log(down, f"{word} {up} → {down}: {state.evidence.get((up, down), '')}")

    async def _recheck(self, change: dict[str, float | None]) -> None:
        start = self.engine.now()
        for delay in RECHECKS:
            await self.engine.clock.sleep_until(start + delay)
            state = self.engine.snapshot.state
            # Only while that same change is still the reader's latest (a newer one has its own checks).
            due = [n for n, at in change.items() if (s := state.statuses.get(n)) is not None and s.last_change == at
                   and s.suspects - s.writers]
            if not due:
                return
            self._check(state, due)

    def _check(self, state: EngineState, readers: list[str]) -> None:
        if state.paths is None:
            return
        index = state.paths
        pairs = []
        for reader in readers:
            s = state.statuses[reader]
            for writer in sorted(s.suspects - s.writers):
                ws = state.statuses.get(writer)
                if ws is not None and ws.running is not None:
                    pairs.append((reader, writer, ws.running.id))
        seen = self.groups.observe({uid for _, _, uid in pairs})
        for reader, writer, uid in pairs:
            observed = seen.get(uid)
            if observed is None:
                continue
            found = observed.evidence(functools.partial(index.watched_by, reader), index.base_dir)
            if found is None:
                continue
            paths = next((r.paths for r in state.statuses[reader].pending if r.kind is ReasonKind.FILES), ())
            self.engine.dispatch(A.WriterEvidence(writer, reader, paths, found, self.engine.now()))
            if (uid, reader) not in self._reported:
                if len(self._reported) > 1000:
                    running = {s.running.id for s in state.statuses.values() if s.running is not None}
                    self._reported = {k for k in self._reported if k[0] in running}
                self._reported.add((uid, reader))
                self.engine.log(reader, f"{writer} (update #{uid}) seen writing these files: {found}")
