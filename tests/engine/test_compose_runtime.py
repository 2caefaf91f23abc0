"""The Compose runtime's pure parts: container states and clean-up under cancellation (the
real containers are in tests/e2e/test_compose_projects.py)."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from lockstep.adapters.docker import DockerCli, LogFn
from lockstep.adapters.process import ProcessRunner
from lockstep.engine.compose_runtime import Compose, ContainerState, to_the_end
from lockstep.model.resource import ComposeSpec, Resource, ResourceKind
from lockstep.model.update import Outputs


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


class _ComposeCli(DockerCli):
    """A compose CLI whose `up`s each wait for the test to let them finish: `ups` says which
    services' `up` is running now (what a real one does meanwhile: create the project's networks)."""

    def __init__(self) -> None:
        super().__init__(processes=cast(ProcessRunner, None))
        self.ups: list[str] = []
        self.most_at_once: dict[str, int] = {}
        self.release: dict[str, asyncio.Event] = {}

    async def run(self, argv: list[str], log: LogFn | None, **_: Any) -> tuple[int, list[str]]:
        if "up" not in argv:
            return 0, []  # `version` (the flavor, the ping)
        project, service = argv[argv.index("-p") + 1], argv[-1]
        self.ups.append(f"{project}/{service}")
        busy = sum(u.startswith(f"{project}/") for u in self.ups)
        self.most_at_once[project] = max(self.most_at_once.get(project, 0), busy)
        await self.release.setdefault(service, asyncio.Event()).wait()
        self.ups.remove(f"{project}/{service}")
        return 0, []


def _service(name: str, project: str) -> Resource:
    return Resource(name, ResourceKind.COMPOSE,
                    compose=ComposeSpec(project_files=("/p/docker-compose.yml",), service=name, project=project))


def test_two_services_of_one_project_never_run_up_at_once() -> None:
    # Two services of a project deployed together (the first update, or a retry after the
    # project was fixed): their `up`s would race to create the project's networks, and the
    # loser failed with "network ... already exists". Another project's `up` is not held.
    async def scenario() -> None:
        cli = _ComposeCli()
        compose = Compose(cli)
        logged: list[str] = []

        def log(text: str, _err: bool) -> None:
            logged.append(text)

        async def settle() -> None:
            for _ in range(50):
                await asyncio.sleep(0)

        deploys = {name: asyncio.create_task(compose.deploy(_service(name, project), {}, log, Outputs()))
                   for name, project in (("steady", "shop"), ("web", "shop"), ("other", "elsewhere"))}
        await settle()
        (first,) = [u.removeprefix("shop/") for u in cli.ups if u.startswith("shop/")]
        assert "elsewhere/other" in cli.ups
        second = "web" if first == "steady" else "steady"
        assert any("Waiting for another service of project shop" in t for t in logged)
        cli.release[first].set()
        await settle()
        assert deploys[first].done() and deploys[first].result().ok
        assert f"shop/{second}" in cli.ups
        cli.release[second].set()
        cli.release["other"].set()
        for task in deploys.values():
            assert (await task).ok
        assert cli.most_at_once == {"shop": 1, "elsewhere": 1}

    asyncio.run(scenario())
