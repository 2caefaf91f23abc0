"""Runners and runtime controllers built when a resource first needs them.

The Kubernetes and Compose sides import YAML, the manifest and compose helpers and
the image pipeline: a Tiltfile of local resources needs none of it, and `ci` or `up`
on one should not spend its start-up loading them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from lockstep.engine.configload import RuntimeKind
from lockstep.engine.runners import LogFn, Outcome, UpdateJob, UpdateRunner
from lockstep.model.resource import Resource

T = TypeVar("T")


class Once(Generic[T]):
    """`make()` called at the first `get()`, its value kept."""

    def __init__(self, make: Callable[[], T]) -> None:
        self._make: Callable[[], T] | None = make
        self._value: T | None = None

    @property
    def made(self) -> bool:
        return self._make is None

    def get(self) -> T:
        if self._make is not None:
            self._value, self._make = self._make(), None
        return self._value  # type: ignore[return-value]  # set above, possibly to a falsy value


class LazyRunner:
    """An update runner built at the first update of its kind."""

    def __init__(self, make: Callable[[], UpdateRunner]) -> None:
        self._runner = Once(make)

    async def run(self, job: UpdateJob, log: LogFn) -> Outcome:
        return await self._runner.get().run(job, log)


class LazyRuntime:
    """A runtime controller built when a loaded configuration first has a resource it may handle.

    `may_handle` must hold for every resource the real controller handles (it may hold
    for more). The controller is built while the configuration is applied, before the
    engine publishes it, so it subscribes in time to see that configuration's snapshot."""

    def __init__(self, may_handle: Callable[[Resource], bool], make: Callable[[], RuntimeKind]) -> None:
        self._may_handle = may_handle
        self.controller = Once(make)

    def handles(self, r: Resource) -> bool:
        if not self.controller.made and not self._may_handle(r):
            return False
        return self.controller.get().handles(r)
