"""The asyncio engine with a fake clock and a function runner: no sleeping, no processes."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from engine_sim import ROOT, config, local
from enginerig import Gate, running

from lockstep.engine.clock import FakeClock
from lockstep.engine.engine import Engine, EngineOptions
from lockstep.engine.persist import read_history
from lockstep.engine.runners import FunctionRunner
from lockstep.logs.store import LogStore
from lockstep.model.resource import LoadResult
from lockstep.model.update import HoldKind, ReasonKind
from lockstep.store import actions as A


def test_engine_runs_chain_in_order_with_fake_clock(tmp_path: Path) -> None:
    asyncio.run(_chain(tmp_path))


async def _chain(tmp_path: Path) -> None:
    clock = FakeClock()
    gate = Gate()
    engine, task = await running(config(local("a", deps=("src",)), local("b", ups=("a",))), gate, clock, tmp_path)
    st = await engine.store.wait_for(lambda s: "a" in s.statuses and s.statuses["a"].running is not None, 5)
    assert st.statuses["b"].running is None
    assert {h.kind for h in engine.decision.holds["b"]} == {HoldKind.WAITING_ON_UPSTREAM}
    gate.release(1)
    await engine.store.wait_for(lambda s: s.statuses["b"].running is not None, 5)
    gate.release(2)
    await engine.store.wait_for(lambda s: s.statuses["b"].succeeded, 5)

    # A file change waits for the quiet window on the fake clock, then runs a, then b.
    engine.dispatch(A.FilesChanged(frozenset({f"{ROOT}/src/x.txt"}), clock.now()))
    await engine.store.wait_for(lambda s: bool(s.statuses["a"].pending), 5)
    assert engine.state.statuses["a"].running is None
    clock.advance(0.1)
    await asyncio.sleep(0)
    assert engine.state.statuses["a"].running is None  # still inside the 200 ms window
    clock.advance(0.15)
    st = await engine.store.wait_for(lambda s: s.statuses["a"].running is not None, 5)
    assert st.statuses["a"].running is not None and st.statuses["a"].running.reasons[0].kind is ReasonKind.FILES
    gate.release(3)
    st = await engine.store.wait_for(lambda s: s.statuses["b"].running is not None, 5)
    assert st.statuses["b"].running is not None
    assert [r.kind for r in st.statuses["b"].running.reasons] == [ReasonKind.UPSTREAM]
    gate.release(4)
    await engine.store.wait_for(lambda s: s.statuses["b"].running is None and s.statuses["b"].succeeded, 5)
    assert gate.ran == ["a", "b", "a", "b"]
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    # The history reached the state dir.
    assert [r.resource for r in read_history(tmp_path)] == ["a", "b", "a", "b"]


def test_options_override_the_tiltfile_settings(tmp_path: Path) -> None:
    async def body() -> None:
        clock = FakeClock()
        gate = Gate()

        def loader(path: str, args: Sequence[str]) -> LoadResult:
            return config(local("a", deps=("src",)), local("b", ups=("a",)))

        options = EngineOptions(tiltfile=f"{ROOT}/Tiltfile", quiet_secs=1.0, max_wait_secs=5.0,
                                no_propagate_to=frozenset({"b"}))
        engine = Engine(options, loader=loader, runner=FunctionRunner(gate), logs=LogStore(None), clock=clock)
        task = asyncio.ensure_future(engine.run())
        engine.initial_load()
        st = await engine.store.wait_for(lambda s: s.config is not None, 5)
        assert (st.settings.quiet_secs, st.settings.max_wait_secs) == (1.0, 5.0)
        assert st.resources["b"].propagate is False and st.resources["a"].propagate is True
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(body())


def test_removed_resource_update_is_cancelled(tmp_path: Path) -> None:
    async def body() -> None:
        clock = FakeClock()
        gate = Gate()
        configs = [config(local("a"), local("b")), config(local("b"))]

        def loader(path: str, args: Sequence[str]) -> LoadResult:
            return configs[0] if len(gate.ran) < 2 else configs[1]

        engine = Engine(EngineOptions(tiltfile=f"{ROOT}/Tiltfile"), loader=loader, runner=FunctionRunner(gate),
                        logs=LogStore(None), clock=clock)
        task = asyncio.ensure_future(engine.run())
        engine.initial_load()
        await engine.store.wait_for(
            lambda s: all(n in s.statuses and s.statuses[n].running is not None for n in ("a", "b")), 5)
        engine.reload()  # the Tiltfile now defines only b
        st = await engine.store.wait_for(lambda s: "a" not in s.resources, 5)
        assert st.statuses["b"].running is not None  # unchanged: keeps running
        for _ in range(100):  # the cancellation reaches the update on a later loop iteration
            if gate.cancelled:
                break
            await asyncio.sleep(0)
        assert gate.cancelled == ["a"]
        snap = await engine.wait_for(lambda s: "a" not in s.state.statuses, 5)
        assert snap.state.statuses["b"].running is not None
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(body())


def test_a_failing_subscriber_does_not_stop_the_store() -> None:
    from lockstep.store.store import Store

    async def body() -> None:
        store = Store()
        seen: list[float] = []

        def broken(state: object) -> None:
            raise RuntimeError("view bug")

        store.subscribe(broken)
        store.subscribe(lambda s: seen.append(s.now))
        task = asyncio.ensure_future(store.run())
        store.dispatch(A.Tick(5.0))
        await store.wait_for(lambda s: s.now == 5.0, 5)
        store.dispatch(A.Tick(6.0))
        await store.wait_for(lambda s: s.now == 6.0, 5)
        assert seen == [5.0, 6.0]
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(body())


def test_a_requested_reload_starts_at_once_and_holds_starts_until_loaded(tmp_path: Path) -> None:
    async def body() -> None:
        clock = FakeClock()
        gate = Gate()
        loads: list[int] = []

        def loader(path: str, args: Sequence[str]) -> LoadResult:
            loads.append(len(loads))
            return config(local("a"))

        engine, task = await running(config(local("a")), gate, clock, tmp_path)
        engine.config.loader = loader
        await engine.wait_for(lambda s: "a" in s.state.statuses and s.state.statuses["a"].running is not None, 5)
        gate.release(1)
        await engine.wait_for(lambda s: s.state.statuses["a"].succeeded, 5)
        engine.dispatch(A.Trigger("a", clock.now()))
        engine.reload()
        # No quiet window on the fake clock needs to pass: the reload starts in the same step,
        # and the trigger waits for it.
        snap = await engine.wait_for(lambda s: s.state.config_reloading or s.state.config_generation > 1, 5)
        assert snap.state.statuses["a"].running is None
        snap = await engine.wait_for(lambda s: s.state.config_generation == 2, 5)
        await engine.wait_for(lambda s: s.state.statuses["a"].running is not None, 5)
        assert loads == [0]
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(body())


def test_an_update_is_stopped_when_its_resource_is_disabled_and_only_then(tmp_path: Path) -> None:
    async def body() -> None:
        clock = FakeClock()
        gate = Gate()
        engine, task = await running(config(local("a"), local("b"), local("c", ups=("a",)), max_parallel_updates=2),
                                     gate, clock, tmp_path)
        await engine.store.wait_for(lambda s: "b" in s.statuses and s.statuses["b"].running is not None, 5)
        gate.release(1)  # a finishes, c starts beside b: steps that must stop nothing
        await engine.store.wait_for(lambda s: s.statuses["c"].running is not None, 5)
        await engine.wait_for(lambda s: s.state.statuses["c"].running is not None, 5)
        assert gate.cancelled == []
        engine.dispatch(A.SetEnabled("b", False, clock.now()))
        for _ in range(100):  # the cancellation reaches the update on a later loop iteration
            if gate.cancelled:
                break
            await asyncio.sleep(0)
        assert gate.cancelled == ["b"]
        st = await engine.store.wait_for(lambda s: s.statuses["b"].running is None, 5)
        assert st.statuses["c"].running is not None
        assert any("stopped: resource disabled" in line.text for line in engine.logs.tail("b", 100))
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(body())
