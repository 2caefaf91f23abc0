"""The store: one asyncio task drains queued actions in batches and reduces them.

Single writer: only `run()` replaces the state. After each batch, subscribers
are called synchronously with the new state; a subscriber that wants to act
(the scheduler step) may apply follow-up actions through `apply_now` so that
the next snapshot anyone sees already shows them (e.g. UpdateStarted before the
update's task exists), which is how no controller ever acts on a stale view.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from lockstep.store.actions import Action
from lockstep.store.reducers import reduce
from lockstep.store.state import EngineState

Subscriber = Callable[[EngineState], None]
log = logging.getLogger(__name__)


class Store:
    def __init__(self, state: EngineState | None = None) -> None:
        self._state = state or EngineState()
        self._queue: asyncio.Queue[Action] = asyncio.Queue()
        self._subscribers: list[Subscriber] = []
        self._changed = asyncio.Condition()
        # Tasks inside wait_for/drained: with none (the usual case), a batch wakes nobody.
        self._waiters = 0
        self.version = 0

    @property
    def state(self) -> EngineState:
        return self._state

    def dispatch(self, action: Action) -> None:
        self._queue.put_nowait(action)

    def apply_now(self, action: Action) -> EngineState:
        """Reduce immediately (only from inside a subscriber, i.e. the store task)."""
        self._state = reduce(self._state, action)
        return self._state

    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        self._subscribers.append(fn)
        return lambda: self._subscribers.remove(fn) if fn in self._subscribers else None

    async def run(self) -> None:
        while True:
            action = await self._queue.get()
            state = reduce(self._state, action)
            while not self._queue.empty():
                state = reduce(state, self._queue.get_nowait())
            self._state = state
            for fn in list(self._subscribers):
                try:
                    fn(self._state)
                except Exception:
                    # A bug in one view or controller must not stop the engine
                    # (and every process it supervises); it is reported, loudly.
                    log.exception("internal error in a state subscriber; the engine goes on")
            self.version += 1
            if self._waiters:
                async with self._changed:
                    self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[EngineState], bool], timeout: float | None = None) -> EngineState:
        """Wait until the state satisfies predicate (tests and `ci` wait on state, not timers)."""

        async def _wait() -> EngineState:
            async with self._changed:
                while not predicate(self._state):
                    await self._changed.wait()
                return self._state

        self._waiters += 1
        try:
            return await asyncio.wait_for(_wait(), timeout)
        finally:
            self._waiters -= 1

    async def drained(self) -> None:
        """Return once every queued action has been reduced (the queue is drained).

        Not the contract's *settled* (ResourceState.settled): this says nothing about resources.
        """
        self._waiters += 1
        try:
            while not self._queue.empty():
                async with self._changed:
                    await self._changed.wait()
        finally:
            self._waiters -= 1
