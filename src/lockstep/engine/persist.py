"""What outlives a run, in the per-Tiltfile state dir: history, holds, inferred edges."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from lockstep.model.update import HoldReason, UpdateRecord

HISTORY = "history.jsonl"
HOLDS = "holds.jsonl"
INFERRED = "inferred.json"

log = logging.getLogger(__name__)
# (file, bad line count) already reported: readers run several times per command.
_reported: set[tuple[str, int]] = set()


def _append_handle(path: Path) -> IO[str]:
    """Open a JSON-lines file for appending, starting a new line if a crash tore the last one.

    Without that, the next record would be glued to the torn one and lost with it.
    """
    f = open(path, "a", encoding="utf-8")  # noqa: SIM115 - kept open for the run
    try:
        with open(path, "rb") as r:
            if r.seek(0, os.SEEK_END) > 0:
                r.seek(-1, os.SEEK_END)
                if r.read(1) != b"\n":
                    f.write("\n")
                    f.flush()
    except OSError:
        pass
    return f


class StateFiles:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self._history = _append_handle(self.dir / HISTORY)
        self._holds = _append_handle(self.dir / HOLDS)

    def append_update(self, record: UpdateRecord) -> None:
        self._history.write(json.dumps(record.to_json()) + "\n")
        self._history.flush()

    def append_holds(self, at: float, resource: str, holds: tuple[HoldReason, ...]) -> None:
        entry = {"at": at, "resource": resource, "holds": [h.to_json() for h in holds]}
        self._holds.write(json.dumps(entry) + "\n")

    def flush(self) -> None:
        self._history.flush()
        self._holds.flush()

    def save_inferred(self, edges: frozenset[tuple[str, str]]) -> None:
        self.write_inferred(self.dir, edges)

    @staticmethod
    def write_inferred(directory: Path, edges: frozenset[tuple[str, str]]) -> None:
        tmp = directory / (INFERRED + ".tmp")
        tmp.write_text(json.dumps(sorted([list(e) for e in edges]), indent=1))
        os.replace(tmp, directory / INFERRED)

    def close(self) -> None:
        self._history.close()
        self._holds.close()


def load_inferred(directory: Path) -> frozenset[tuple[str, str]]:
    """The learnt edges; a corrupt file is moved aside (with one warning), never a crash."""
    path = directory / INFERRED
    try:
        raw = path.read_bytes()
    except OSError:
        return frozenset()
    try:
        data = json.loads(raw.decode("utf-8"))
        if not isinstance(data, list) or not all(
            isinstance(e, list) and len(e) == 2 and all(isinstance(x, str) for x in e) for e in data
        ):
            raise ValueError("expected a list of [upstream, downstream] name pairs")
    except (ValueError, RecursionError) as exc:
        aside = path.with_name(f"{INFERRED}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}")
        try:
            os.replace(path, aside)
            where = f"moved it to {aside.name}"
        except OSError as err:
            where = f"could not move it aside: {err.strerror}"
        log.warning("%s is corrupt (%s); starting without learnt edges; %s", path, exc, where)
        return frozenset()
    return frozenset((e[0], e[1]) for e in data)


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
