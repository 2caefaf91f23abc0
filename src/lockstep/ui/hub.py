"""The live hub: turns store batches into versioned view deltas for stream clients.

Each resource's view carries the sequence number of the batch that last
changed it; a client remembers the highest number it has sent and asks for
everything newer. So a slow client never makes the engine buffer anything: it
just receives a bigger, coalesced delta when it catches up. Log lines work the
same way, with the log store's own seq as the checkpoint.

The hub subscribes to the engine's snapshots: each carries the state, the
decision taken on it and the names of the resources that changed. A snapshot
only adds those names to a dirty set; views are built, from the latest
snapshot, when somebody reads (a stream client, `GET /api/view`). That matters at scale: while
thousands of resources wait on one serial update, every batch changes all of
their hold reasons, and a view built per batch would cost more than the batch
itself. Read lazily, a resource that changed ten times between two reads is
built once, and with nobody watching nothing is built at all. Each built view
is kept as JSON text too, so a delta or the full view is assembled from text,
never serialised again (viewbody.py).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from lockstep.ui.excerpt import excerpts
from lockstep.ui.viewbody import ChunkedDocument
from lockstep.ui.viewmodel import JSON, config_view, is_failed, record_json, resource_view

if TYPE_CHECKING:
    from lockstep.engine.engine import Engine
    from lockstep.engine.snapshot import Snapshot

# A stream sender waits PACE times as long as the last build of views took before it builds again, so that
# building views for watchers takes at most 1 / (1 + PACE) of the loop while thousands change per batch.
# Builds under MIN_PACED seconds (one trigger's worth of changes) are never delayed, and no wait is longer
# than MAX_PACE_DELAY: below the stream's heartbeat interval, so a paced stream never looks like a dead server.
PACE = 2.0
MIN_PACED = 0.005
MAX_PACE_DELAY = 0.3

@dataclass
class _Entry:
    view: JSON
    text: str
    seq: int


@dataclass
class Delta:
    seq: int
    changed: list[JSON] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    config: JSON | None = None
    history: list[JSON] = field(default_factory=list)
    finished_total: int = 0
    changed_text: list[str] = field(default_factory=list)  # `changed` as JSON text, same order

    @property
    def empty(self) -> bool:
        return not (self.changed or self.removed or self.config is not None or self.history)

    def message(self) -> str:
        """The stream's delta frame, from the views' cached text."""
        parts = [f'{{"type":"delta","seq":{self.seq},"changed":[', ",".join(self.changed_text),
                 '],"removed":', json.dumps(self.removed), ',"history":', json.dumps(self.history)]
        if self.config is not None:
            parts += [',"config":', json.dumps(self.config)]
        parts.append("}")
        return "".join(parts)


class Hub:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._seq = 0
        self._entries: dict[str, _Entry] = {}
        self._dirty: set[str] = set()  # changed (or removed) since the last build
        self._recent: dict[str, int] = {}  # name -> seq of its last change, oldest change first
        self._no_excerpt: set[str] = set()  # failed, but its output had not arrived when built
        self._excerpt_checkpoint = -1
        self._order: tuple[str, ...] = ()
        self._index: dict[str, int] = {}
        self._removed: dict[str, int] = {}
        self._config: JSON = {}
        self._config_key: tuple[object, ...] = ()
        self._config_seq = 0
        self._finished = 0
        self._build_cost = 0.0
        self._built_at = 0.0
        self._document = ChunkedDocument(b'{"resources":')
        self._document_seq = -1
        self._listeners: set[asyncio.Event] = set()
        self._excerpts = excerpts(engine.logs)
        self._unsubscribe = [engine.subscribe(self._on_snapshot), engine.logs.subscribe(self._on_log)]
        self._rebuild(engine.snapshot)

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()

    # -- producers (synchronous, called by the engine and the log store) ----

    def _rebuild(self, snap: Snapshot) -> None:
        """Everything from scratch (once, when the hub is created)."""
        state = snap.state
        self._on_snapshot(replace(snap, changed=frozenset(state.resources) | frozenset(self._entries),
                                  topology_changed=True))

    def _on_snapshot(self, snap: Snapshot) -> None:
        """Note which names changed; read nothing else of them (see the module's docstring).

        A name's definition, status and holds are read from the latest snapshot when its view
        is built: the newest inputs are the only ones a build ever used, and a removal is a
        name the latest state no longer has.
        """
        state = snap.state
        if snap.changed:
            self._dirty.update(snap.changed)
        if snap.topology_changed or snap.changed:
            order = state.topology.order or tuple(state.resources)
            if order is not self._order and order != self._order:
                self._order = order
                self._index = {n: i for i, n in enumerate(order)}
        # The args are the engine's (the `args` command sets them before the reload). The view
        # is made again only when one of its inputs is another object (compared by identity first).
        key = (state.config, state.config_generation, state.config_errors, state.config_dirty_since is None,
               state.config_reload_requested, state.config_reloading, state.settings, tuple(self.engine.args))
        changed = False
        if key != self._config_key:
            self._config_key = key
            config = config_view(state, self.engine.args)
            if config != self._config:
                self._config, self._config_seq = config, self._seq + 1
                self._seq += 1
                changed = True
        if changed or self._dirty or state.finished_total != self._finished:
            self._finished = state.finished_total
            self._wake()

    def _on_log(self, _: object) -> None:
        self._wake()

    def _wake(self) -> None:
        for event in self._listeners:
            event.set()

    def _build(self) -> None:
        """Build the views of what changed since the last read; a view equal to the last one is no change."""
        checkpoint = self.engine.logs.checkpoint
        if self._no_excerpt and checkpoint != self._excerpt_checkpoint:
            # Its output may have arrived since: look again (the excerpt is cached once found).
            self._dirty.update(self._no_excerpt)
            self._no_excerpt.clear()
        self._excerpt_checkpoint = checkpoint
        if not self._dirty:
            return
        started = time.perf_counter()
        dirty, self._dirty = self._dirty, set()
        snap = self.engine.snapshot
        resources, statuses, holds_map = snap.state.resources, snap.state.statuses, snap.decision.holds
        seq = self._seq + 1
        changed = False
        for name in dirty:
            r, s = resources.get(name), statuses.get(name)
            if r is None or s is None:
                self._no_excerpt.discard(name)
                if self._entries.pop(name, None) is not None:
                    self._recent.pop(name, None)
                    self._removed[name] = seq
                    changed = True
                continue
            view = self._excerpts.add_to(resource_view(r, s, tuple(holds_map.get(name, ()))))
            if is_failed(view) and not view["excerpt"]:
                self._no_excerpt.add(name)
            text = json.dumps(view)
            old = self._entries.get(name)
            if old is not None and old.text == text:
                continue
            self._entries[name] = _Entry(view, text, seq)
            self._recent.pop(name, None)
            self._recent[name] = seq
            self._removed.pop(name, None)
            changed = True
        if changed:
            self._seq = seq
        self._built_at = time.perf_counter()
        self._build_cost = self._built_at - started

    # -- consumers ------------------------------------------------------------

    @property
    def seq(self) -> int:
        self._build()
        return self._seq

    def listen(self) -> asyncio.Event:
        event = asyncio.Event()
        self._listeners.add(event)
        return event

    def unlisten(self, event: asyncio.Event) -> None:
        self._listeners.discard(event)

    def pace(self) -> float:
        """Seconds a stream sender should wait before its next read (0: read now)."""
        if self._build_cost < MIN_PACED:
            return 0.0
        due = self._built_at + min(MAX_PACE_DELAY, PACE * self._build_cost)
        return max(0.0, due - time.perf_counter())

    def views(self) -> list[JSON]:
        self._build()
        return [self._entries[n].view for n in self._order if n in self._entries]

    def config(self) -> JSON:
        return self._config

    def _current_document(self) -> ChunkedDocument:
        self._build()
        if self._document_seq != self._seq:
            entries = self._entries
            self._document.update([(n, entries[n].seq, entries[n].text) for n in self._order if n in entries])
            self._document_seq = self._seq
        return self._document

    def resources_json(self) -> str:
        """Every view, in order, as one JSON array (the stream's snapshot)."""
        return self._current_document().array().decode()

    def view_body(self, tail: JSON, gzip: bool) -> bytes:
        """`GET /api/view`: {"resources": [...], **tail} as JSON bytes, gzip-encoded if asked."""
        doc = self._current_document()
        rest = ("," + json.dumps(tail)[1:]).encode() if tail else b"}"
        return doc.gzip(rest) if gzip else doc.plain(rest)

    def delta_since(self, seq: int, finished_seen: int) -> Delta:
        """What changed after `seq`: proportional to that, not to the number of resources."""
        self._build()
        state = self.engine.snapshot.state
        delta = Delta(self._seq, finished_total=state.finished_total)
        names: list[str] = []
        for name, at in reversed(self._recent.items()):
            if at <= seq:
                break
            names.append(name)
        index, last = self._index, len(self._index)
        names.sort(key=lambda n: index.get(n, last))
        entries = [self._entries[n] for n in names]
        delta.changed = [e.view for e in entries]
        delta.changed_text = [e.text for e in entries]
        delta.removed = [n for n, at in self._removed.items() if at > seq]
        if self._config_seq > seq:
            delta.config = self._config
        new = min(state.finished_total - finished_seen, len(state.history))
        if new > 0:
            delta.history = [record_json(r) for r in state.history[-new:]]
        return delta
