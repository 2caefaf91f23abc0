"""Runtimes by kind: the supervision bookkeeping every runtime controller shares.

A runtime is what keeps running after a successful update: a `serve_cmd`
process today, a deployed workload or a Compose service later. A controller
for one kind says which resources it `handles` and how to `keep_running` one;
this base class does the rest, the same way for every kind:

- a successful update moves the runtime to STARTING (reducer); the controller
  then starts one supervisor per update id (a repeated snapshot of the same
  update never starts a second one), after the previous supervisor is gone;
- a resource removed from the Tiltfile or disabled is stopped;
- every exit of a supervisor (cancelled, replaced, failed) reports
  RuntimeStopped, so no state says "starting" about something nothing runs.

Which resources have a runtime at all derives from the registered controllers
(`Engine.add_runtime`): the engine asks them when a configuration is loaded
(`ResourceState.has_runtime` keeps the answer), so a kind nothing supervises
never waits for readiness. What to start and stop is `plan_runtimes`, which
the simulation in the tests drives too.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

from lockstep.engine.planning import plan_runtimes
from lockstep.engine.port import EnginePort
from lockstep.engine.snapshot import Snapshot
from lockstep.model.resource import Resource
from lockstep.store import actions as A
from lockstep.store.state import EngineState


@dataclass
class _Supervisor:
    update_id: int
    task: asyncio.Task[None]


class RuntimeController(abc.ABC):
    # Whether a live update (files synced into the running container) keeps the supervisor:
    # the controller is then told to report readiness again (`refresh`) instead of starting
    # over (its log streams, watches and port-forwards stay as they are).
    live_in_place = False

    def __init__(self, engine: EnginePort) -> None:
        self.engine = engine
        self._sup: dict[str, _Supervisor] = {}
        # The resources `handles` accepts, per configuration (the resources mapping is replaced on load).
        self._handled_for: Mapping[str, Resource] | None = None
        self._handled: list[str] = []
        engine.subscribe(self._on_snapshot)

    @abc.abstractmethod
    def handles(self, r: Resource) -> bool:
        """Whether this controller supervises the runtime of `r` (pure: asked at config load)."""

    @abc.abstractmethod
    async def keep_running(self, name: str, r: Resource) -> None:
        """Run the runtime and keep it running until cancelled.

        Report RuntimeStarted / RuntimeReady / RuntimeExited as it goes; stop
        everything it started when cancelled.
        """

    def refresh(self, name: str) -> None:
        """A live update changed `name`'s runtime in place (its state is STARTING again): report
        whether it is ready. Only called when `live_in_place` is set."""
        raise NotImplementedError(f"{type(self).__name__} sets live_in_place but has no refresh()")

    def supervised(self) -> frozenset[str]:
        return frozenset(self._sup)

    def _on_snapshot(self, snap: Snapshot) -> None:
        self.reconcile(snap.state)

    def reconcile(self, state: EngineState) -> None:
        if state.resources is not self._handled_for:
            self._handled_for = state.resources
            self._handled = [n for n, r in state.resources.items() if self.handles(r)]
        if not self._handled and not self._sup:
            return  # nothing of this kind to start or stop (e.g. no serve_cmd at all): the usual case per batch
        plan = plan_runtimes(state, self.handles, {n: sup.update_id for n, sup in self._sup.items()}, self._handled)
        for name in plan.stop:
            self._stop(name)
        for name, update_id in plan.start:
            sup = self._sup.get(name)
            last = state.statuses[name].last
            if (self.live_in_place and sup is not None and not sup.task.done() and last is not None
                    and last.id == update_id and last.live_update):
                sup.update_id = update_id
                self.refresh(name)
                continue
            previous = sup.task if sup else None
            if sup:
                sup.task.cancel()
            task = self.engine.spawn(self._supervise(name, state.resources[name], previous), f"runtime-{name}")
            self._sup[name] = _Supervisor(update_id, task)

    def _stop(self, name: str) -> None:
        sup = self._sup.pop(name, None)
        if sup is not None:
            sup.task.cancel()

    async def _supervise(self, name: str, r: Resource, previous: asyncio.Task[None] | None) -> None:
        if previous is not None:
            # The old runtime stops before the new one starts. asyncio.wait() neither raises
            # the old task's outcome nor swallows this task's own cancellation (a stop arriving
            # now): suppressing it would go on to start a runtime nothing would ever stop.
            await asyncio.wait([previous])
        try:
            await self.keep_running(name, r)
        finally:
            if self.engine.snapshot.state.statuses.get(name) is not None:
                self.engine.dispatch(A.RuntimeStopped(name, self.engine.now()))
