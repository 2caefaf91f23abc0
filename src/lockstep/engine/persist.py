"""What outlives a run, in the per-Tiltfile state dir: history, holds, inferred edges."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from lockstep.model.update import HoldReason, UpdateRecord

HISTORY = "history.jsonl"
HOLDS = "holds.jsonl"
INFERRED = "inferred.json"


class StateFiles:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self._history = open(self.dir / HISTORY, "a", encoding="utf-8")  # noqa: SIM115 - kept open for the run
        self._holds = open(self.dir / HOLDS, "a", encoding="utf-8")  # noqa: SIM115

    def append_update(self, record: UpdateRecord) -> None:
        self._history.write(json.dumps(record.to_json()) + "\n")
        self._history.flush()

    def append_holds(self, at: float, resource: str, holds: tuple[HoldReason, ...]) -> None:
        entry = {"at": at, "resource": resource, "holds": [h.to_json() for h in holds]}
        self._holds.write(json.dumps(entry) + "\n")

    def flush(self) -> None:
        self._history.flush()
        self._holds.flush()

    def save_inferred(self, edges: frozenset[tuple[str, str]], evidence: Mapping[tuple[str, str], str]) -> None:
        self.write_inferred(self.dir, edges, evidence)

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
        self._history.close()
        self._holds.close()


def load_inferred(directory: Path) -> frozenset[tuple[str, str]]:
    return frozenset(load_inferred_evidence(directory))


def load_inferred_evidence(directory: Path) -> dict[tuple[str, str], str]:
    """(writer, reader) -> evidence text ("" for edges saved without one)."""
    try:
        data = json.loads((directory / INFERRED).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, list):
        return {}
    return {
        (str(e[0]), str(e[1])): str(e[2]) if len(e) == 3 else ""
        for e in data
        if isinstance(e, list) and len(e) in (2, 3)
    }


def _read_jsonl(path: Path) -> Iterator[object]:
    """Each line's JSON value; a torn last line (a crash mid-write) is skipped."""
    try:
        f = open(path, encoding="utf-8")  # noqa: SIM115
    except OSError:
        return
    with f:
        for line in f:
            try:
                yield json.loads(line)
            except ValueError:
                continue


def read_history(directory: Path) -> Iterator[UpdateRecord]:
    for data in _read_jsonl(directory / HISTORY):
        try:
            yield UpdateRecord.from_json(data)  # type: ignore[arg-type]
        except (ValueError, KeyError, AssertionError, TypeError, AttributeError):
            continue


def read_holds(directory: Path) -> Iterator[dict[str, object]]:
    for data in _read_jsonl(directory / HOLDS):
        if isinstance(data, dict):
            yield data
