"""What outlives a run, in the per-Tiltfile state dir: history, holds, inferred edges.

A history line is an update record, or a *graph* line: the direct upstreams
of every resource as the graph stood (`{"graph": n, "ups": {...}}`). A record
whose upstreams in force were exactly its transitive upstreams in that graph
(the usual case) names the graph instead of listing them: listing them cost
about 1,400 names a line in a layered graph of 10,000 resources (150 MB of
history for one `ci` run), and the reader rebuilds the same sets from the
graph line, as bitsets.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import replace
from pathlib import Path
from typing import IO

from lockstep.engine.jsonline import holds_line, update_line
from lockstep.logs.disk import DiskHealth, discard, open_append
from lockstep.model.topology import Topology, build_topology
from lockstep.model.update import HoldReason, UpdateRecord

HISTORY = "history.jsonl"
HOLDS = "holds.jsonl"
INFERRED = "inferred.json"

log = logging.getLogger(__name__)
# (file, bad line count) already reported: readers run several times per command.
_reported: set[tuple[str, int]] = set()


class StateFiles:
    """The run's writer. A failing disk costs records, never the run (see logs/disk.py)."""

    def __init__(self, directory: Path, health: DiskHealth | None = None) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.health = health or DiskHealth()
        self._open: dict[str, IO[str]] = {}

    def _write(self, name: str, text: str, flush: bool = True) -> None:
        f = self._open.get(name)
        try:
            if f is None:
                f = self._open[name] = open_append(self.dir / name)
            f.write(text)
            if flush:
                f.flush()
        except OSError as exc:
            discard(self._open.pop(name, None))
            self.health.failed("history", exc)
        else:
            if flush:
                self.health.ok("history")

    def append_update(self, record: UpdateRecord, graph: int | None = None) -> None:
        """One record; with `graph`, its upstreams are its closure in that graph line (not listed)."""
        self._write(HISTORY, update_text(record, graph))

    def append_graph(self, graph: int, ups: Mapping[str, AbstractSet[str]]) -> None:
        """The graph later records name: every resource with its direct upstreams, in order."""
        self._write(HISTORY, graph_text(graph, ups))

    def append_holds(self, at: float, resource: str, holds: tuple[HoldReason, ...]) -> None:
        self._write(HOLDS, holds_line(at, resource, holds), flush=False)

    def append_text(self, history: str, holds: str) -> None:
        """Lines made by `update_text`, `graph_text` and `holds_line`, each file in one write.

        The history is flushed (`why` and the dashboard's readers see it at once); holds lines
        wait in the buffer, as one at a time did.
        """
        if history:
            self._write(HISTORY, history)
        if holds:
            self._write(HOLDS, holds, flush=False)

    def flush(self) -> None:
        for name in list(self._open):
            self._write(name, "")

    def save_inferred(self, edges: frozenset[tuple[str, str]], evidence: Mapping[tuple[str, str], str]) -> None:
        try:
            self.write_inferred(self.dir, edges, evidence)
        except OSError as exc:
            self.health.failed("history", exc)

    @staticmethod
    def write_inferred(
        directory: Path, edges: frozenset[tuple[str, str]], evidence: Mapping[tuple[str, str], str] | None = None
    ) -> None:
        # Each edge is [writer, reader, what it was learnt from].
        known = evidence if evidence is not None else load_inferred_evidence(directory)
        rows = sorted([u, d, known.get((u, d), "")] for u, d in edges)
        tmp = directory / (INFERRED + ".tmp")
        tmp.write_text(json.dumps(rows, indent=1))
        os.replace(tmp, directory / INFERRED)

    def close(self) -> None:
        self.flush()
        for f in self._open.values():
            discard(f)
        self._open.clear()


def update_text(record: UpdateRecord, graph: int | None = None) -> str:
    """A history line; with `graph`, its upstreams are its closure in that graph line (not listed)."""
    if graph is None:
        return json.dumps(record.to_json()) + "\n"
    return update_line(record, graph)


def graph_text(graph: int, ups: Mapping[str, AbstractSet[str]]) -> str:
    return json.dumps({"graph": graph, "ups": {n: sorted(u) for n, u in ups.items()}}) + "\n"


def load_inferred(directory: Path) -> frozenset[tuple[str, str]]:
    return frozenset(load_inferred_evidence(directory))


def load_inferred_evidence(directory: Path) -> dict[tuple[str, str], str]:
    """(writer, reader) -> evidence text ("" for edges saved without one).

    A corrupt file is moved aside (with one warning), never a crash.
    """
    path = directory / INFERRED
    try:
        raw = path.read_bytes()
    except OSError:
        return {}
    try:
        data = json.loads(raw.decode("utf-8"))
        if not isinstance(data, list) or not all(
            isinstance(e, list) and len(e) in (2, 3) and all(isinstance(x, str) for x in e) for e in data
        ):
            raise ValueError("expected a list of [upstream, downstream, evidence] entries")
    except (ValueError, RecursionError) as exc:
        aside = path.with_name(f"{INFERRED}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}")
        try:
            os.replace(path, aside)
            where = f"moved it to {aside.name}"
        except OSError as err:
            where = f"could not move it aside: {err.strerror}"
        log.warning("%s is corrupt (%s); starting without learnt edges; %s", path, exc, where)
        return {}
    return {(e[0], e[1]): e[2] if len(e) == 3 else "" for e in data}


def _read_jsonl(path: Path) -> Iterator[object]:
    """Each line's JSON value. Bad lines (a torn write, stray bytes) are skipped and reported once."""
    try:
        f = open(path, "rb")  # noqa: SIM115 - bytes: one bad byte must cost one line, not the file
    except OSError:
        return
    bad: list[int] = []
    with f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield json.loads(line.decode("utf-8"))
            except (ValueError, RecursionError):
                bad.append(n)
    if bad and (str(path), len(bad)) not in _reported:
        _reported.add((str(path), len(bad)))
        shown = ", ".join(map(str, bad[:5])) + (" …" if len(bad) > 5 else "")
        log.warning("%s: skipped %d unreadable line(s) (line %s)", path, len(bad), shown)


def _graph(data: dict[str, object]) -> Topology | None:
    ups = data.get("ups")
    if not isinstance(ups, dict) or not all(isinstance(u, list) for u in ups.values()):
        return None
    return build_topology(ups, ((str(u), str(d)) for d, us in ups.items() for u in us))


def read_history(directory: Path) -> Iterator[UpdateRecord]:
    graphs: dict[object, Topology | None] = {}
    for data in _read_jsonl(directory / HISTORY):
        if not isinstance(data, dict):
            continue
        if "ups" in data:
            graphs[data.get("graph")] = _graph(data)
            continue
        try:
            record = UpdateRecord.from_json(data)
        except (ValueError, KeyError, AssertionError, TypeError, AttributeError):
            continue
        if "upstreams" not in data and "graph" in data:
            topology = graphs.get(data["graph"])
            if topology is not None:
                record = replace(record, upstreams=topology.all_ups.get(record.resource, frozenset()))
        yield record


def read_holds(directory: Path) -> Iterator[dict[str, object]]:
    for data in _read_jsonl(directory / HOLDS):
        if isinstance(data, dict):
            yield data
