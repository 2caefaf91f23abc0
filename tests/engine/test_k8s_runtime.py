"""The k8s runtime's withdrawal: a removed or disabled resource's objects are deleted (or its
custom deploy's delete_cmd run)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from lockstep.adapters.kubectl import Cli
from lockstep.adapters.process import SubprocessRunner
from lockstep.engine.k8s_runner import Deployed, Deployments
from lockstep.engine.k8s_runtime import K8sRuntime, deletion_docs, withdrawn
from lockstep.model.resource import LoadResult
from lockstep.store.state import EngineState, ResourceState


class Port:
    """Just enough engine for a controller: logs collected, tasks spawned on the running loop."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def subscribe(self, fn: Callable[..., None]) -> Callable[[], None]:
        return lambda: None

    def spawn(self, coro: Coroutine[Any, Any, None], name: str = "") -> asyncio.Task[None]:
        return asyncio.ensure_future(coro)

    def now(self) -> float:
        return 0.0

    def dispatch(self, action: object) -> None:
        pass

    def log(self, resource: str, text: str, **kw: Any) -> None:
        self.lines.append(text)


def state(**statuses: bool) -> EngineState:
    return EngineState(config=LoadResult("Tiltfile"),
                       statuses={n: ResourceState(n, enabled=on) for n, on in statuses.items()})


def test_withdrawn_are_the_deployed_resources_gone_or_disabled() -> None:
    deps = Deployments({n: Deployed("kind-kind") for n in ("web", "db", "cache")})
    assert withdrawn(deps, state(web=True, db=False)) == ["db", "cache"]
    assert withdrawn(deps, EngineState()) == []  # nothing loaded: keep what is deployed


def test_deletion_docs_in_reverse_apply_order() -> None:
    d = Deployed("c", idents=(("v1", "Service", "shop", "web"), ("apps/v1", "Deployment", "shop", "web")))
    assert [x["kind"] for x in deletion_docs(d)] == ["Deployment", "Service"]


def test_custom_deploy_withdrawal_runs_delete_cmd(tmp_path: Path) -> None:
    port = Port()

    async def main() -> None:
        ctl = K8sRuntime(port, Cli(SubprocessRunner(), str(tmp_path)), Deployments())  # type: ignore[arg-type]
        await ctl._delete("crd", Deployed("kind-kind", delete_cmd=("sh", "-c", 'echo "$WHAT" > gone'),
                                          delete_dir=str(tmp_path), delete_env=(("WHAT", "uninstalled"),)))

    asyncio.run(main())
    assert (tmp_path / "gone").read_text() == "uninstalled\n"
    assert port.lines == ['Running delete_cmd: sh -c echo "$WHAT" > gone']
