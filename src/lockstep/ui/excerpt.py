"""Failure excerpts: the few lines of a failed update's output that say why it failed.

"cmd exited with code 2" says nothing; the YAML parse error or the missing
symbol a few lines above it does. The excerpt is computed at the edge, from
the log store, once per failed update (cached by update id): the update's own
build output between its start and end, preferring lines that look like
errors, else its last lines. The engine records nothing extra.
"""

from __future__ import annotations

import re
import weakref
from collections import OrderedDict
from collections.abc import Iterator

from lockstep.logs.levels import looks_like_error
from lockstep.logs.pager import this_run_newest_first
from lockstep.logs.store import LogLine, LogSource, LogStore
from lockstep.ui.viewmodel import JSON, is_failed

MAX_LINES = 5
MAX_CHARS = 300
_SCAN = 400  # lines of a run considered at most (its end is what matters)
_CACHE = 4096
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")
# lockstep's own lines around an update, not the command's output.
_OWN = ("Update #", "Running cmd: ")


def _newest_first(store: LogStore, resource: str) -> Iterator[LogLine]:
    held = store.tail(resource, 1 << 30)
    yield from reversed(held)
    if store.holds_all(resource) or store.directory is None:
        return
    # Memory filled up (a chatty server): continue from the file on disk.
    oldest = held[0].seq if held else 1 << 62
    yield from (line for line in this_run_newest_first(store, resource, oldest) if line.seq < oldest)


def run_lines(store: LogStore, resource: str, start: float, end: float) -> list[str]:
    """The build output of one update of `resource` (started `start`, ended `end`), oldest first."""
    out: list[str] = []
    for line in _newest_first(store, resource):
        if line.at < start - 1e-3:
            break
        if line.source is not LogSource.BUILD or line.at > end + 0.5 or line.text.startswith(_OWN):
            continue
        out.append(line.text)
        if len(out) >= _SCAN:
            break
    out.reverse()
    return out


def excerpt_of(lines: list[str]) -> list[str]:
    """Up to MAX_LINES lines: the first error-looking line and the last ones, else the last lines."""
    clean = [t for t in (_ANSI.sub("", x).rstrip() for x in lines) if t.strip()]
    errors = [i for i, t in enumerate(clean) if looks_like_error(t)]
    if errors:
        chosen = sorted({errors[0], *errors[-(MAX_LINES - 1):]})
        picked = [clean[i] for i in chosen]
    else:
        picked = clean[-MAX_LINES:]
    return [t if len(t) <= MAX_CHARS else t[: MAX_CHARS - 1] + "…" for t in picked]


class Excerpts:
    """Per log store: update id -> excerpt, computed on first use."""

    def __init__(self, store: LogStore) -> None:
        self.store = store
        self._cache: OrderedDict[int, list[str]] = OrderedDict()

    def get(self, resource: str, update_id: int, start: float, end: float | None) -> list[str]:
        hit = self._cache.get(update_id)
        if hit is not None:
            self._cache.move_to_end(update_id)
            return hit
        found = excerpt_of(run_lines(self.store, resource, start, end if end is not None else start))
        if not found:
            return found  # its output may still be draining from the pipe: look again next time
        self._cache[update_id] = found
        if len(self._cache) > _CACHE:
            self._cache.popitem(last=False)
        return found

    def add_to(self, view: JSON) -> JSON:
        """Adds `excerpt` (a list of lines, empty unless the last update failed) to a resource view."""
        last = view.get("last")
        if is_failed(view) and isinstance(last, dict):
            view["excerpt"] = self.get(view["name"], int(last["id"]), float(last["start"]), last.get("end"))
        else:
            view["excerpt"] = []
        # The one line a table row has room for (`lockstep get`).
        view["failure"] = headline(view["excerpt"])
        return view


_BY_STORE: weakref.WeakKeyDictionary[LogStore, Excerpts] = weakref.WeakKeyDictionary()


def excerpts(store: LogStore) -> Excerpts:
    found = _BY_STORE.get(store)
    if found is None:
        found = _BY_STORE[store] = Excerpts(store)
    return found


_WRAPPER = re.compile(r"^(?:make(?:\[\d+\])?: \*\*\*|npm ERR! (?:code|errno|A complete log)|error: command failed)")


def headline(excerpt: list[str]) -> str:
    """The one line to show in a row: the last excerpt line that is not a build tool's wrapper message."""
    for text in reversed(excerpt):
        if not _WRAPPER.match(text):
            return text
    return excerpt[-1] if excerpt else ""


def failure_report(engine_logs: LogStore, views: list[JSON], indent: str = "    ") -> list[str]:
    """For the `ci` summary: each failed resource's excerpt, indented under its name."""
    out: list[str] = []
    ex = excerpts(engine_logs)
    for view in views:
        lines = ex.add_to(view)["excerpt"]
        if lines:
            out.append(f"{view['name']}:")
            out.extend(indent + line for line in lines)
    return out
