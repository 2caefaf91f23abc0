"""The image runner's pure parts and its routing (the real builds are in tests/e2e)."""

from __future__ import annotations

import asyncio

from lockstep.engine.image_runner import ImageRunner, KindRouter, rewrite_bases
from lockstep.engine.runners import FunctionRunner, LogFn, Outcome
from lockstep.model.resource import K8sSpec, LocalSpec, Resource, ResourceKind


def test_bases_built_here_are_replaced_by_their_fresh_refs() -> None:
    text = "FROM base AS b\nCOPY --from=docker.io/library/tools /t /t\nFROM other\nFROM base:$V\n"
    out = rewrite_bases(text, {"base": "base:tilt-1", "tools:latest": "tools:tilt-2"})
    assert out == "FROM base:tilt-1 AS b\nCOPY --from=tools:tilt-2 /t /t\nFROM other\nFROM base:$V\n"


def test_updates_are_routed_by_kind() -> None:
    seen: list[str] = []

    def runner(label: str) -> FunctionRunner:
        async def run(resource: Resource, update_id: int, log: LogFn) -> Outcome:
            seen.append(f"{label}:{resource.name}")
            return Outcome(True)
        return FunctionRunner(run)

    router = KindRouter(runner("local"), runner("images"))
    for r in (Resource("l", ResourceKind.LOCAL, local=LocalSpec()), Resource("k", ResourceKind.K8S),
              Resource("c", ResourceKind.COMPOSE)):
        asyncio.run(router.run(r, 1, lambda _t, _e: None))
    assert seen == ["local:l", "images:k", "images:c"]


def test_deploys_this_build_cannot_do_fail_clearly() -> None:
    runner = ImageRunner(None)  # type: ignore[arg-type]  # no image to build: the builder is not used
    outcome = asyncio.run(runner.run(Resource("k", ResourceKind.K8S, k8s=K8sSpec()), 1, lambda _t, _e: None))
    assert not outcome.ok and outcome.error == "deploying to Kubernetes is not supported by this build yet"
