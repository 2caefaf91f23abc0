"""A deterministic discrete-event simulation of the engine's pure core.

Drives the real reducers and the real scheduler with a simulated clock:
updates take scripted durations, may fail, and may write into other
resources' watched paths while they run (the broken-Tiltfile scenario).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from lockstep.engine.planning import plan_runtimes, plan_starts
from lockstep.engine.serve import ServeController
from lockstep.model.resource import Cmd, LoadResult, LocalSpec, Resource, ResourceKind, Settings
from lockstep.model.update import UpdateRecord
from lockstep.store import actions as A
from lockstep.store.reducers import reduce
from lockstep.store.state import EngineState, RuntimeStatus

ROOT = "/sim"


def local(name: str, deps: tuple[str, ...] = (), ups: tuple[str, ...] = (), parallel: bool = True,
          serve: bool = False, **kw: object) -> Resource:
    serve_cmd = Cmd(("sh", "-c", f"serve {name}")) if serve else Cmd(())
    return Resource(
        name=name,
        kind=ResourceKind.LOCAL,
        deps=tuple(f"{ROOT}/{d}" for d in deps),
        resource_deps=ups,
        local=LocalSpec(cmd=Cmd(("sh", "-c", f"build {name}")), allow_parallel=parallel, serve_cmd=serve_cmd),
        **kw,  # type: ignore[arg-type]
    )


def runtimes_of(result: LoadResult) -> frozenset[str]:
    """The resources whose runtime the real engine would supervise (its serve controller's own test)."""
    return frozenset(r.name for r in result.resources if ServeController.serves(r))


def loaded_action(result: LoadResult, at: float) -> A.ConfigLoaded:
    """ConfigLoaded as the engine dispatches it: with the runtimes its controllers supervise."""
    return A.ConfigLoaded(result, at, runtimes=runtimes_of(result))


def config(*resources: Resource, **settings: object) -> LoadResult:
    return LoadResult(tiltfile=f"{ROOT}/Tiltfile", resources=resources, settings=Settings(**settings))  # type: ignore[arg-type]


@dataclass
class Sim:
    config: LoadResult
    duration: Callable[[str, int], float] = lambda name, n: 1.0
    fails: Callable[[str, int, float], bool] = lambda name, n, t: False
    # name -> paths its update writes (at 10 %, 50 % and 90 % of its duration)
    writes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    state: EngineState = field(default_factory=EngineState)
    now: float = 0.0
    log: list[tuple[float, A.Action]] = field(default_factory=list)
    starts: list[str] = field(default_factory=list)
    _q: list[tuple[float, int, A.Action]] = field(default_factory=list)
    _seq: itertools.count[int] = field(default_factory=itertools.count)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _count: dict[str, int] = field(default_factory=dict)
    # Runtimes being supervised: resource -> the update id they serve.
    _supervised: dict[str, int] = field(default_factory=dict)
    last_file_change: dict[str, float] = field(default_factory=dict)
    # Servers: time from a successful update to ready; crashes: (name, time) of a
    # server exit, restarted (not updated) after a backoff, as the serve controller does.
    ready_after: Callable[[str], float] = lambda name: 0.5
    crashes: list[tuple[str, float]] = field(default_factory=list)
    # Starts that found a transitive upstream's server not ready (must stay empty: C1).
    unready_starts: list[str] = field(default_factory=list)
    # Writers' writes come with evidence (as /proc shows for real processes).
    evidence: bool = True
    _writer_of: dict[int, str] = field(default_factory=dict)

    def at(self, t: float, action: A.Action) -> None:
        heapq.heappush(self._q, (t, next(self._seq), action))

    def edit(self, t: float, *paths: str) -> None:
        self.at(t, A.FilesChanged(frozenset(f"{ROOT}/{p}" for p in paths), t))

    def apply(self, action: A.Action) -> EngineState:
        self.log.append((self.now, action))
        if isinstance(action, A.FilesChanged):
            for p in action.paths:
                self.last_file_change[p] = action.at
        if isinstance(action, A.UpdateStarted):
            for up in self.state.topology.all_ups.get(action.resource, frozenset()):
                us = self.state.statuses[up]
                # Spelled out, not `runtime_ok`: the check must not share the code it checks.
                if us.runtime not in (RuntimeStatus.NONE, RuntimeStatus.READY):
                    self.unready_starts.append(f"{action.resource} started at {action.at} while {up} was {us.runtime}")
        self.state = reduce(self.state, action)
        writer = self._writer_of.pop(id(action), None)
        if writer is not None and self.evidence:
            # What the evidence controller reports for a real writer's process group.
            for reader, s in self.state.statuses.items():
                if writer in s.suspects:
                    paths = tuple(sorted(action.paths))  # type: ignore[union-attr]
                    self.apply(A.WriterEvidence(writer, reader, paths, "simulated write", action.at))
        r = self.state.resources.get(getattr(action, "resource", ""))
        if r is not None and self.state.statuses[r.name].has_runtime and isinstance(action, A.RuntimeExited):
            # The serve controller's restart loop: backoff, then the same process starts again.
            t = action.at + 1.0
            self.at(t, A.RuntimeStarted(r.name, t))
            self.at(t + self.ready_after(r.name), A.RuntimeReady(r.name, True, t + self.ready_after(r.name)))
        return self.state

    def step(self) -> None:
        """The engine's step after a batch, with the engine's own planning functions."""
        decision, _, jobs = plan_starts(self.state, self.now, self._ids, self.apply)
        for job in jobs:
            name, uid = job.resource.name, job.update_id
            n = self._count.get(name, 0)
            self._count[name] = n + 1
            self.starts.append(name)
            d = self.duration(name, n)
            for frac in (0.1, 0.5, 0.9):
                paths = self.writes.get(name, ())
                if paths:
                    t = self.now + d * frac
                    change = A.FilesChanged(frozenset(f"{ROOT}/{p}" for p in paths), t)
                    self._writer_of[id(change)] = name
                    self.at(t, change)
            self.at(self.now + d, A.UpdateFinished(uid, name, not self.fails(name, n, self.now), self.now + d))
        # What the serve controller does with the same snapshot: (re)start runtimes, then report ready.
        plan = plan_runtimes(self.state, ServeController.serves, self._supervised)
        for name in plan.stop:
            self._supervised.pop(name, None)
        for name, uid in plan.start:
            self._supervised[name] = uid
            self.at(self.now, A.RuntimeStarted(name, self.now))
            t = self.now + self.ready_after(name)
            self.at(t, A.RuntimeReady(name, True, t))
        if decision.wake_at is not None:
            self.at(decision.wake_at, A.Tick(decision.wake_at))

    def run(self, until: float = 10_000.0, max_events: int = 100_000) -> EngineState:
        self.apply(loaded_action(self.config, self.now))
        for name, t in self.crashes:
            self.at(t, A.RuntimeExited(name, 1, t))
        self.step()
        events = 0
        while self._q and events < max_events:
            t, _, action = heapq.heappop(self._q)
            if t > until:
                break
            self.now = max(self.now, t)
            self.apply(action)
            # Reduce everything due at the same instant before deciding (a batch).
            while self._q and self._q[0][0] <= self.now:
                self.apply(heapq.heappop(self._q)[2])
            self.step()
            events += 1
        return self.state

    def records(self) -> list[UpdateRecord]:
        recs = list(self.state.history)
        recs += [s.running for s in self.state.statuses.values() if s.running is not None]
        return recs
