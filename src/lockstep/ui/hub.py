"""The live hub: turns store batches into versioned view deltas for stream clients.

Each resource's view carries the sequence number of the batch that last
changed it; a client remembers the highest number it has sent and asks for
everything newer. So a slow client never makes the engine buffer anything: it
just receives a bigger, coalesced delta when it catches up. Log lines work the
same way, with the log store's own seq as the checkpoint.

The hub subscribes to the engine's snapshots: each carries the state, the
decision taken on it and the names of the resources that changed, so views are
recomputed only for those, and the order only when the topology changed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from lockstep.model.resource import Resource
from lockstep.model.update import HoldReason
from lockstep.store.state import ResourceState
from lockstep.ui.excerpt import excerpts
from lockstep.ui.viewmodel import JSON, config_view, record_json, resource_view

if TYPE_CHECKING:
    from lockstep.engine.engine import Engine
    from lockstep.engine.snapshot import Snapshot


@dataclass
class _Entry:
    resource: Resource
    state: ResourceState
    holds: tuple[HoldReason, ...]
    view: JSON
    seq: int


@dataclass
class Delta:
    seq: int
    changed: list[JSON] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    config: JSON | None = None
    history: list[JSON] = field(default_factory=list)
    finished_total: int = 0

    @property
    def empty(self) -> bool:
        return not (self.changed or self.removed or self.config is not None or self.history)


class Hub:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.seq = 0
        self._entries: dict[str, _Entry] = {}
        self._order: tuple[str, ...] = ()
        self._removed: dict[str, int] = {}
        self._config: JSON = {}
        self._config_seq = 0
        self._finished = 0
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
        state = snap.state
        holds_map = snap.decision.holds
        seq = self.seq + 1
        changed = False
        for name in snap.changed:
            r = state.resources.get(name)
            s = state.statuses.get(name)
            if r is None or s is None:
                if self._entries.pop(name, None) is not None:
                    self._removed[name] = seq
                    changed = True
                continue
            holds = tuple(holds_map.get(name, ()))
            old = self._entries.get(name)
            view = self._excerpts.add_to(resource_view(r, s, holds))
            if old is not None and old.view == view:
                old.resource, old.state, old.holds = r, s, holds
                continue
            self._entries[name] = _Entry(r, s, holds, view, seq)
            self._removed.pop(name, None)
            changed = True
        if snap.topology_changed or snap.changed:
            self._order = state.topology.order or tuple(state.resources)
        # The args are the engine's (the `args` command sets them before the reload).
        config = config_view(state, self.engine.args)
        if config != self._config:
            self._config, self._config_seq = config, seq
            changed = True
        if changed:
            self.seq = seq
        if changed or state.finished_total != self._finished:
            self._finished = state.finished_total
            self._wake()

    def _on_log(self, _: object) -> None:
        self._wake()

    def _wake(self) -> None:
        for event in self._listeners:
            event.set()

    # -- consumers ------------------------------------------------------------

    def listen(self) -> asyncio.Event:
        event = asyncio.Event()
        self._listeners.add(event)
        return event

    def unlisten(self, event: asyncio.Event) -> None:
        self._listeners.discard(event)

    def views(self) -> list[JSON]:
        return [self._entries[n].view for n in self._order if n in self._entries]

    def config(self) -> JSON:
        return self._config

    def delta_since(self, seq: int, finished_seen: int) -> Delta:
        state = self.engine.snapshot.state
        delta = Delta(self.seq, finished_total=state.finished_total)
        entries = self._entries
        delta.changed = [entries[n].view for n in self._order if n in entries and entries[n].seq > seq]
        delta.removed = [n for n, at in self._removed.items() if at > seq]
        if self._config_seq > seq:
            delta.config = self._config
        new = min(state.finished_total - finished_seen, len(state.history))
        if new > 0:
            delta.history = [record_json(r) for r in state.history[-new:]]
        return delta
