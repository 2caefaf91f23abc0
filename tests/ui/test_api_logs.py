"""The API's log paging (tail per resource, scroll-back), failure excerpts in views, and custom buttons."""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from apirig import Rig, rig

from lockstep.logs.store import LogSource
from lockstep.store.state import EngineState


def run(tmp_path: Path, body: Callable[[Rig], Awaitable[None]], **kw: Any) -> None:
    async def main() -> None:
        async with rig(tmp_path, **kw) as r:
            await body(r)

    asyncio.run(main())


async def get(r: Rig, path: str, status: int = 200) -> Any:
    res = await r.client.get(path)
    assert res.status == status, await res.text()
    return await res.json()


def test_tail_of_one_resource_survives_a_flood_and_pages_backwards(tmp_path: Path) -> None:
    async def body(r: Rig) -> None:
        await r.until(lambda s: s.rs["a"].succeeded)
        logs = r.engine.logs
        for i in range(1200):
            logs.append("c", LogSource.BUILD, f"c line {i}", 1.0)
        for i in range(3000):
            logs.append("a", LogSource.RUNTIME, f"flood {i}", 2.0)
        tail = await get(r, "/api/logs?resources=c&tail=500")
        assert [x["text"] for x in tail["lines"]] == [f"c line {i}" for i in range(700, 1200)]
        assert tail["lines"][0]["stream"] == "none"
        older = await get(r, f"/api/logs?resources=c&before={tail['lines'][0]['seq']}&limit=500")
        assert older["lines"][-1]["text"] == "c line 699" and not older["complete"]
        rest = await get(r, f"/api/logs?resources=c&before={older['lines'][0]['seq']}&limit=500")
        assert rest["complete"]
        assert [x["text"] for x in rest["lines"]][-200:] == [f"c line {i}" for i in range(200)]
        combined = await get(r, f"/api/logs?before={logs.checkpoint}&limit=3")
        assert [x["text"] for x in combined["lines"]] == ["flood 2996", "flood 2997", "flood 2998"]
        await get(r, "/api/logs?resources=c&before=x", 400)

    run(tmp_path, body)


def failed(name: str) -> Callable[[EngineState], bool]:
    return lambda s: s.rs[name].failed and s.rs[name].running is None


def test_failed_resource_carries_its_excerpt_in_every_view(tmp_path: Path) -> None:
    async def body(r: Rig) -> None:
        await r.until(failed("c"))
        view = {v["name"]: v for v in (await get(r, "/api/view"))["resources"]}
        assert view["c"]["excerpt"] == ["ERROR: c is broken"]
        assert view["a"]["excerpt"] == []
        detail = await get(r, "/api/resources/c")
        assert detail["excerpt"] == ["ERROR: c is broken"]
        async with r.client.ws_connect(f"/api/stream?logs=none&token={r.token}") as ws:
            snap = await ws.receive_json()
            by = {v["name"]: v for v in snap["view"]["resources"]}
            assert by["c"]["excerpt"] == ["ERROR: c is broken"]
            # Silence is filled with heartbeats, so a client notices a dead server.
            assert (await ws.receive_json(timeout=5))["type"] == "hb"

    run(tmp_path, body, failing=("c",))


BUTTONS = textwrap.dedent("""
    local_resource('a', cmd='true')
    local_resource('off', cmd='true')
    v1alpha1.ui_button(name='hi', text='Say hi', location={'component_type': 'Resource', 'component_id': 'a'})
    v1alpha1.cmd(name='hi', args=['sh', '-c', 'echo hi from the button'], start_on={'ui_buttons': ['hi']})
    v1alpha1.ui_button(name='dead', text='No command', location={'component_type': 'Global', 'component_id': 'x'})
    v1alpha1.ui_button(name='offb', text='Off', location={'component_type': 'Resource', 'component_id': 'off'})
    v1alpha1.cmd(name='offb', args=['true'], start_on={'ui_buttons': ['offb']})
""")


def test_buttons_in_the_view_and_run_through_the_api(tmp_path: Path) -> None:
    async def body(r: Rig) -> None:
        await r.until(lambda s: s.rs["a"].succeeded)
        buttons = (await get(r, "/api/view"))["config"]["buttons"]
        assert [(b["name"], b["resource"], b["disabled"]) for b in buttons] == [
            ("hi", "a", False), ("dead", None, True), ("offb", "off", False)]

        async def post(body: dict[str, object], status: int) -> dict[str, Any]:
            res = await r.client.post("/api/button", json=body, headers=r.auth())
            data: dict[str, Any] = await res.json()
            assert res.status == status, data
            return data

        assert "no such button" in (await post({"name": "nope"}, 404))["error"]
        assert "no command" in (await post({"name": "dead"}, 409))["error"]
        await post({"name": 3}, 400)
        await r.client.post("/api/enable", json={"resources": ["off"], "enabled": False}, headers=r.auth())
        assert "disabled" in (await post({"name": "offb"}, 409))["error"]
        heard = asyncio.Event()
        r.engine.logs.subscribe(lambda line: heard.set() if line.text == "hi from the button" else None)
        await post({"name": "hi"}, 200)
        await asyncio.wait_for(heard.wait(), 20)
        assert next(x for x in r.engine.logs.tail("a", 50) if x.text == "hi from the button").stream.value == "out"

    run(tmp_path, body, tiltfile=BUTTONS)
