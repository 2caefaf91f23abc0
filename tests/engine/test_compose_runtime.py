"""The Compose runtime's pure parts: container states and clean-up under cancellation (the
real containers are in tests/e2e/test_compose_projects.py)."""

from __future__ import annotations

import asyncio

import pytest

from lockstep.engine.compose_runtime import ContainerState, to_the_end
from lockstep.model.resource import ComposeSpec


def test_a_one_shot_service_that_exited_0_is_ready_not_gone() -> None:
    done = ContainerState("exited", exit_code=0)
    assert done.completed and done.ready and not done.gone
    failed = ContainerState("exited", exit_code=3)
    assert failed.gone and not failed.ready
    assert ContainerState("running", "starting").ready is False
    assert ContainerState("running", "healthy").ready and ContainerState("running").ready
    assert ContainerState("missing").gone and ContainerState("dead").gone
    # A service a dependent awaits with `service_completed_successfully` is ready once done only.
    awaited = ComposeSpec(service="migrate", ready_when_completed=True)
    assert not ContainerState("running").ready_for(awaited) and done.ready_for(awaited)
    assert ContainerState("running").ready_for(ComposeSpec(service="db"))


def test_a_clean_up_runs_to_its_end_through_repeated_cancellation() -> None:
    # A service's container is being removed (it crashed) when the shutdown cancels its
    # supervisor again: the supervisor must wait for the removal, not leave it running on
    # after the engine is gone.
    async def scenario() -> None:
        release = asyncio.Event()
        finished: list[bool] = []

        async def cleanup() -> None:
            await release.wait()
            finished.append(True)

        async def supervisor() -> None:
            try:
                await asyncio.sleep(3600)
            finally:
                await to_the_end(cleanup())

        task = asyncio.create_task(supervisor())
        await asyncio.sleep(0)
        for _ in range(3):
            task.cancel()
            await asyncio.sleep(0)
        assert not task.done() and finished == []
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert finished == [True]

    asyncio.run(scenario())
