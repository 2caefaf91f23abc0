"""Runtimes by kind: the shared supervision bookkeeping, and "has a runtime" derived from the controllers."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

from engine_sim import ROOT, config, local

from lockstep.engine.ci import ci_verdict
from lockstep.engine.clock import FakeClock
from lockstep.engine.engine import Engine, EngineOptions
from lockstep.engine.runners import FunctionRunner, LogFn, Outcome, UpdateJob
from lockstep.engine.runtime import RuntimeController
from lockstep.logs.store import LogStore
from lockstep.model.resource import LoadResult, Resource, ResourceKind
from lockstep.store import actions as A
from lockstep.store.state import RuntimeStatus


class Toy(RuntimeController):
    """Supervises resources whose name starts with `svc`; each run waits until the test ends it."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.runs: list[str] = []
        self.cancelled: list[str] = []
        self.exit = asyncio.Event()

    def handles(self, r: Resource) -> bool:
        return r.name.startswith("svc")

    async def keep_running(self, name: str, r: Resource) -> None:
        self.runs.append(name)
        self.engine.dispatch(A.RuntimeReady(name, True, self.engine.now()))
        try:
            await self.exit.wait()
        except asyncio.CancelledError:
            self.cancelled.append(name)
            raise


async def ok(job: UpdateJob, log: LogFn) -> Outcome:
    return Outcome(True)


T = TypeVar("T", bound=Toy)


def engine_with(results: list[LoadResult], tmp: Path, kind: type[T]) -> tuple[Engine, T]:
    """An engine whose loader returns results[0] (a test pops it to change the Tiltfile)."""

    def loader(path: str, args: Sequence[str]) -> LoadResult:
        return results[0]

    engine = Engine(EngineOptions(tiltfile=f"{ROOT}/Tiltfile", state_dir=tmp), loader=loader,
                    runner=FunctionRunner(ok), logs=LogStore(None), clock=FakeClock())
    toy = kind(engine)
    engine.add_runtime(toy)
    return engine, toy


def engine_for(result: LoadResult, tmp: Path) -> tuple[Engine, Toy]:
    return engine_with([result], tmp, Toy)


def test_a_kind_no_controller_supervises_has_no_runtime_and_settles(tmp_path: Path) -> None:
    async def main() -> None:
        web = Resource(name="web", kind=ResourceKind.K8S)
        engine, _ = engine_for(config(web, local("svc")), tmp_path)
        task = asyncio.ensure_future(engine.run())
        engine.initial_load()
        snap = await engine.wait_for(lambda s: ci_verdict(s.state, s.decision).done, 5)
        assert ci_verdict(snap.state, snap.decision).ok
        assert not snap.state.statuses["web"].has_runtime and snap.state.statuses["web"].runtime is RuntimeStatus.NONE
        assert snap.state.statuses["svc"].has_runtime and snap.state.statuses["svc"].runtime is RuntimeStatus.READY
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())


def test_one_supervisor_per_update_stopped_on_disable_and_removal(tmp_path: Path) -> None:
    async def main() -> None:
        engine, toy = engine_for(config(local("svc1"), local("svc2"), local("plain")), tmp_path)
        task = asyncio.ensure_future(engine.run())
        engine.initial_load()
        await engine.wait_for(lambda s: all(s.state.statuses[n].runtime is RuntimeStatus.READY
                                            for n in ("svc1", "svc2")) if s.state.statuses else False, 5)
        # Many snapshots of the same update start nothing more.
        for i in range(5):
            engine.dispatch(A.Tick(float(i)))
        await engine.wait_for(lambda s: s.state.now >= 4.0, 5)
        assert sorted(toy.runs) == ["svc1", "svc2"] and toy.supervised() == {"svc1", "svc2"}
        # Disabled: stopped, and reported stopped (back to "has one, not started").
        engine.dispatch(A.SetEnabled("svc1", False, 5.0))
        await engine.wait_for(lambda s: s.state.statuses["svc1"].runtime is RuntimeStatus.PENDING, 5)
        assert toy.cancelled == ["svc1"] and toy.supervised() == {"svc2"}
        # A new update replaces the runtime: the old one is cancelled first.
        engine.dispatch(A.Trigger("svc2", 6.0))
        await engine.wait_for(
            lambda s: len(toy.runs) == 3 and s.state.statuses["svc2"].runtime is RuntimeStatus.READY, 5)
        assert toy.cancelled == ["svc1", "svc2"]
        # An exit of its own is reported too.
        toy.exit.set()
        await engine.wait_for(lambda s: s.state.statuses["svc2"].runtime is RuntimeStatus.PENDING, 5)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())


def test_removed_from_the_tiltfile_stops_the_runtime(tmp_path: Path) -> None:
    async def main() -> None:
        results = [config(local("svc")), config(local("other"))]
        engine, toy = engine_with(results, tmp_path, Toy)
        task = asyncio.ensure_future(engine.run())
        engine.initial_load()
        await engine.wait_for(
            lambda s: "svc" in s.state.statuses and s.state.statuses["svc"].runtime is RuntimeStatus.READY, 5)
        results.pop(0)
        engine.initial_load()
        await engine.wait_for(lambda s: "svc" not in s.state.statuses, 5)
        for _ in range(100):  # the cancellation reaches the supervisor on a later loop iteration
            if toy.cancelled:
                break
            await asyncio.sleep(0)
        assert toy.cancelled == ["svc"] and toy.supervised() == frozenset()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())


class SlowToStop(Toy):
    """Its runtime takes until `stopped` is set to stop once cancelled."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.stopped = asyncio.Event()

    async def keep_running(self, name: str, r: Resource) -> None:
        try:
            await super().keep_running(name, r)
        finally:
            await self.stopped.wait()


def test_a_stop_while_waiting_for_the_previous_runtime_starts_nothing(tmp_path: Path) -> None:
    async def main() -> None:
        engine, toy = engine_with([config(local("svc"))], tmp_path, SlowToStop)
        task = asyncio.ensure_future(engine.run())
        engine.initial_load()
        await engine.wait_for(lambda s: "svc" in s.state.statuses and s.state.statuses["svc"].runtime
                              is RuntimeStatus.READY, 5)
        # A new update: its supervisor waits for the old runtime, which is slow to stop...
        engine.dispatch(A.Trigger("svc", 1.0))
        await engine.wait_for(lambda s: s.state.statuses["svc"].last is not None
                              and s.state.statuses["svc"].last.id == 2, 5)
        # ...and is stopped itself meanwhile.
        engine.dispatch(A.SetEnabled("svc", False, 2.0))
        await engine.wait_for(lambda s: not s.state.statuses["svc"].enabled, 5)
        toy.stopped.set()
        await engine.wait_for(lambda s: s.state.statuses["svc"].runtime is RuntimeStatus.PENDING, 5)
        for _ in range(100):
            await asyncio.sleep(0)
        assert toy.runs == ["svc"]  # the second runtime never started
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())


class InPlace(Toy):
    """Keeps its runtime across live updates, and says so when asked to refresh."""

    live_in_place = True

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.refreshed: list[str] = []

    def refresh(self, name: str) -> None:
        self.refreshed.append(name)
        self.engine.dispatch(A.RuntimeReady(name, True, self.engine.now()))


def test_a_live_update_keeps_the_runtime_of_a_controller_that_can(tmp_path: Path) -> None:
    live = [False]

    async def maybe_live(job: UpdateJob, log: LogFn) -> Outcome:
        return Outcome(True, live_update=live[0])

    async def main() -> None:
        def loader(path: str, args: Sequence[str]) -> LoadResult:
            return config(local("svc"))

        engine = Engine(EngineOptions(tiltfile=f"{ROOT}/Tiltfile", state_dir=tmp_path), loader=loader,
                        runner=FunctionRunner(maybe_live), logs=LogStore(None), clock=FakeClock())
        ctl = InPlace(engine)
        engine.add_runtime(ctl)
        task = asyncio.ensure_future(engine.run())
        engine.initial_load()
        await engine.wait_for(lambda s: bool(s.state.statuses) and s.state.statuses["svc"].runtime
                              is RuntimeStatus.READY, 5)
        live[0] = True
        engine.dispatch(A.Trigger("svc", 1.0))
        await engine.wait_for(lambda s: s.state.statuses["svc"].last is not None and s.state.statuses["svc"].last.id
                              == 2 and s.state.statuses["svc"].runtime is RuntimeStatus.READY, 5)
        # The same supervisor, told to report again; nothing cancelled.
        assert ctl.runs == ["svc"] and ctl.refreshed == ["svc"] and ctl.cancelled == []
        # A full update still replaces it.
        live[0] = False
        engine.dispatch(A.Trigger("svc", 2.0))
        await engine.wait_for(lambda s: len(ctl.runs) == 2 and s.state.statuses["svc"].runtime
                              is RuntimeStatus.READY, 5)
        assert ctl.cancelled == ["svc"] and ctl.refreshed == ["svc"]
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())
