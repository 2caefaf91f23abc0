"""The HTTP API against a real in-process Engine: every endpoint, and the refusals."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import stat
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from apirig import TILTFILE, Rig, rig

from lockstep.model.update import ReasonKind
from lockstep.store import actions as A
from lockstep.store.state import EngineState

# Start order, as `lockstep check` prints it: by depth, then Tiltfile order.
START_ORDER = ["a", "c", "m", "b"]


def run(tmp_path: Path, body: Callable[[Rig], Awaitable[None]], **kw: Any) -> None:
    async def main() -> None:
        async with rig(tmp_path, **kw) as r:
            await body(r)

    asyncio.run(main())


def all_ok(s: EngineState) -> bool:
    return all(s.statuses[n].succeeded for n in ("a", "b", "c")) and not s.running()


async def view(r: Rig) -> dict[str, Any]:
    res = await r.client.get("/api/view")
    assert res.status == 200
    data: dict[str, Any] = await res.json()
    return {v["name"]: v for v in data["resources"]} | {"_": data}


def test_view_lists_resources_with_statuses(tmp_path: Path) -> None:
    async def body(r: Rig) -> None:
        await r.until(all_ok)
        v = await view(r)
        assert [x["name"] for x in v["_"]["resources"]] == START_ORDER
        assert v["a"]["update_status"] == "ok" and v["a"]["ready"] is True
        assert v["a"]["labels"] == ["front"] and v["a"]["kind"] == "local"
        assert v["b"]["upstreams"] == ["a"]
        assert v["c"]["endpoints"] == [{"url": "http://localhost:8123/", "name": "docs"}]
        assert v["m"]["trigger_mode"] == "manual" and v["m"]["update_status"] == "pending"
        assert v["a"]["last"]["reasons"] == [{"kind": "initial"}]
        assert v["_"]["config"]["errors"] == []

    run(tmp_path, body)


def test_view_is_gzip_encoded_only_for_clients_that_accept_it(tmp_path: Path) -> None:
    async def body(r: Rig) -> None:
        await r.until(all_ok)
        plain = await r.client.get("/api/view", headers={"Accept-Encoding": "identity"})
        assert plain.headers.get("Content-Encoding") is None and "Accept-Encoding" in plain.headers["Vary"]
        data = json.loads(await plain.read())
        assert [x["name"] for x in data["resources"]] == START_ORDER and data["seq"] > 0
        refused = await r.client.get("/api/view", headers={"Accept-Encoding": "br, gzip;q=0"})
        assert refused.headers.get("Content-Encoding") is None
        packed = await r.client.get("/api/view", headers={"Accept-Encoding": "deflate, gzip;q=0.5"})
        assert packed.headers["Content-Encoding"] == "gzip"
        assert (await packed.json())["resources"] == data["resources"]  # the client decodes it

    run(tmp_path, body)


def test_hold_reason_of_resource_waiting_on_slow_upstream(tmp_path: Path) -> None:
    async def body(r: Rig) -> None:
        await r.until(lambda s: s.statuses["a"].running is not None)
        await r.until(lambda s: "b" in r.engine.decision.holds)
        v = await view(r)
        assert v["b"]["update_status"] == "held"
        assert v["b"]["hold_text"] == "waiting on a"
        assert v["b"]["holds"][0]["kind"] == "waiting-on-upstream"
        assert v["a"]["update_status"] == "in_progress" and v["a"]["running"]["id"] >= 1
        r.gates["a"].set()
        await r.until(all_ok)
        assert (await view(r))["b"]["hold_text"] == ""

    run(tmp_path, body, gated=("a",))


def test_resource_detail_and_unknown(tmp_path: Path) -> None:
    async def body(r: Rig) -> None:
        await r.until(all_ok)
        res = await r.client.get("/api/resources/b")
        d = await res.json()
        assert res.status == 200
        assert d["definition"]["cmd"] == "true" and d["definition"]["resource_deps"] == ["a"]
        assert d["history"][-1]["resource"] == "b" and "upstream a updated" in d["history"][-1]["reason_text"]
        assert (await r.client.get("/api/resources/a")).status == 200
        res = await r.client.get("/api/resources/nope")
        assert res.status == 404 and "no such resource" in (await res.json())["error"]

    run(tmp_path, body)


def test_history_and_validation(tmp_path: Path) -> None:
    async def body(r: Rig) -> None:
        await r.until(all_ok)
        h = await (await r.client.get("/api/history")).json()
        assert {u["resource"] for u in h["updates"]} == {"a", "b", "c"}
        assert h["total_finished"] == 3
        # b waited for a: the critical path ends with b, gated by a.
        ids = {u["id"]: u["resource"] for u in h["updates"]}
        assert [ids[i] for i in h["critical_path"]][-2:] == ["a", "b"] or ids[h["critical_path"][-1]] == "c"
        h = await (await r.client.get("/api/history", params={"resource": "a", "limit": "1"})).json()
        assert [u["resource"] for u in h["updates"]] == ["a"]
        for params, status in (({"limit": "x"}, 400), ({"limit": "-1"}, 400), ({"resource": "zz"}, 404)):
            res = await r.client.get("/api/history", params=params)
            assert res.status == status, params
            assert "error" in await res.json()

    run(tmp_path, body)


def test_graph_declared_and_inferred_edges(tmp_path: Path) -> None:
    async def body(r: Rig) -> None:
        await r.until(all_ok)
        r.engine.dispatch(A.RestoreInferred(frozenset({("c", "a")}), at=r.engine.now()))
        await r.until(lambda s: ("c", "a") in s.inferred)
        g = await (await r.client.get("/api/graph")).json()
        edges = {(e["from"], e["to"], e["inferred"]) for e in g["edges"]}
        assert edges == {("a", "b", False), ("c", "a", True)}
        layers = {n["name"]: n["layer"] for n in g["nodes"]}
        assert layers["c"] < layers["a"] < layers["b"]

    run(tmp_path, body)


def test_forget_inferred_edges(tmp_path: Path) -> None:
    async def body(r: Rig) -> None:
        await r.until(all_ok)
        r.engine.dispatch(A.RestoreInferred(frozenset({("c", "a"), ("m", "c")}), at=r.engine.now()))
        await r.until(lambda s: len(s.inferred) == 2)
        url = "/api/inferred/forget"
        r.logout()
        res = await r.client.post(url, json={"edges": [["c", "a"]]})
        assert res.status == 403
        res = await r.client.post(url, json={"edges": [["a", "b"]]}, headers=r.auth())
        assert res.status == 404 and "a:b" in (await res.json())["error"]
        res = await r.client.post(url, json={"edges": "c:a"}, headers=r.auth())
        assert res.status == 400
        res = await r.client.post(url, json={"edges": [["c", "a"]]}, headers=r.auth())
        assert res.status == 200 and (await res.json())["forgotten"] == [["c", "a"]]
        assert r.engine.state.inferred == frozenset({("m", "c")})
        res = await r.client.post(url, json={"all": True}, headers=r.auth())
        assert res.status == 200 and r.engine.state.inferred == frozenset()

    run(tmp_path, body)


def test_logs_since_tail_and_filter(tmp_path: Path) -> None:
    async def body(r: Rig) -> None:
        await r.until(all_ok)
        got = await (await r.client.get("/api/logs", params={"since": "0"})).json()
        texts = [x["text"] for x in got["lines"]]
        assert any(t.startswith("working on a #") for t in texts)
        assert got["next"] == got["lines"][-1]["seq"] == got["checkpoint"]
        only_b = await (await r.client.get("/api/logs", params={"resources": "b"})).json()
        assert {x["resource"] for x in only_b["lines"]} == {"b"}
        tail = await (await r.client.get("/api/logs", params={"tail": "1"})).json()
        assert len(tail["lines"]) == 1 and tail["lines"][0]["seq"] == got["checkpoint"]
        empty = await (await r.client.get("/api/logs", params={"since": str(got["checkpoint"])})).json()
        assert empty["lines"] == []
        paged = await (await r.client.get("/api/logs", params={"since": "0", "limit": "2"})).json()
        assert len(paged["lines"]) == 2 and paged["next"] == paged["lines"][1]["seq"]
        for params in ({"since": "abc"}, {"limit": "0"}, {"tail": "-3"}, {"limit": "99999999"}):
            res = await r.client.get("/api/logs", params=params)
            assert res.status == 400, params

    run(tmp_path, body)


def test_trigger(tmp_path: Path) -> None:
    async def body(r: Rig) -> None:
        await r.until(all_ok)
        res = await r.client.post("/api/trigger", json={"resources": ["m"]}, headers=r.auth())
        assert res.status == 200 and (await res.json()) == {"triggered": ["m"], "waiting": {}}
        await r.until(lambda s: s.statuses["m"].succeeded)
        assert r.engine.state.statuses["m"].last.reasons[0].kind is ReasonKind.MANUAL  # type: ignore[union-attr]
        bad = [
            ({"resources": ["zz"]}, 404), ({"resources": []}, 400), ({"resources": "a"}, 400),
            ({}, 400), ([1], 400),
        ]
        for payload, status in bad:
            res = await r.client.post("/api/trigger", json=payload, headers=r.auth())
            assert res.status == status, payload
            assert (await res.json())["error"]
        res = await r.client.post("/api/trigger", data=b"{not json", headers=r.auth())
        assert res.status == 400 and "JSON" in (await res.json())["error"]
        res = await r.client.post("/api/trigger", data=b"\xff\xfe", headers=r.auth())
        assert res.status == 400

    run(tmp_path, body)


def test_enable_disable_and_trigger_disabled(tmp_path: Path) -> None:
    async def body(r: Rig) -> None:
        await r.until(all_ok)
        res = await r.client.post("/api/enable", json={"resources": ["c"], "enabled": False}, headers=r.auth())
        assert (await res.json())["changed"] == ["c"]
        assert r.engine.state.statuses["c"].enabled is False  # the handler waits for the store
        assert (await view(r))["c"]["update_status"] == "disabled"
        res = await r.client.post("/api/trigger", json={"resources": ["c"]}, headers=r.auth())
        assert res.status == 409
        await r.client.post("/api/enable", json={"all": True, "enabled": True}, headers=r.auth())
        assert r.engine.state.statuses["c"].enabled
        await r.client.post("/api/enable", json={"resources": ["a"], "enabled": True, "only": True}, headers=r.auth())
        assert [n for n, s in r.engine.state.statuses.items() if s.enabled] == ["a"]
        for payload in ({"resources": ["a"]}, {"resources": ["a"], "enabled": "yes"}, {"enabled": True}):
            assert (await r.client.post("/api/enable", json=payload, headers=r.auth())).status == 400
        # A flag that is not a boolean is refused, not read as false (nothing changes).
        for flag in ("only", "with_deps"):
            res = await r.client.post("/api/enable", json={"resources": ["b"], "enabled": True, flag: "yes"},
                                      headers=r.auth())
            assert res.status == 400 and flag in (await res.json())["error"]
        assert [n for n, s in r.engine.state.rs.items() if s.enabled] == ["a"]

    run(tmp_path, body)


def test_trigger_mode(tmp_path: Path) -> None:
    async def body(r: Rig) -> None:
        await r.until(all_ok)
        res = await r.client.post("/api/trigger-mode", json={"resources": ["a"], "mode": "manual"}, headers=r.auth())
        assert res.status == 200
        assert (await view(r))["a"]["trigger_mode"] == "manual"
        res = await r.client.post("/api/trigger-mode", json={"resources": ["a"], "mode": "sometimes"}, headers=r.auth())
        assert res.status == 400 and "auto" in (await res.json())["error"]

    run(tmp_path, body)


def test_args_replace_reloads_tiltfile(tmp_path: Path) -> None:
    tiltfile = TILTFILE + "\nconfig.define_string_list('to-run', args=True)\ncfg = config.parse()\n" \
        "local_resource('extra', cmd='true') if 'extra' in cfg.get('to-run', []) else None\n"

    async def body(r: Rig) -> None:
        await r.until(all_ok)
        assert (await (await r.client.get("/api/args")).json()) == {"args": []}
        gen = r.engine.state.config_generation
        res = await r.client.post("/api/args", json={"args": ["extra"]}, headers=r.auth())
        assert (await res.json()) == {"args": ["extra"]}
        await r.until(lambda s: s.config_generation > gen and "extra" in s.resources)
        assert (await view(r))["_"]["config"]["args"] == ["extra"]
        for payload in ({"args": "extra"}, {"args": [1]}, {}):
            assert (await r.client.post("/api/args", json=payload, headers=r.auth())).status == 400

    run(tmp_path, body, tiltfile=tiltfile)


def test_refusals(tmp_path: Path) -> None:
    async def body(r: Rig) -> None:
        port = r.client.port
        ok = {"resources": ["a"]}
        r.logout()
        # Missing and wrong token on mutations.
        for headers in ({}, {"X-Lockstep-Token": "wrong"}, {"Authorization": "Bearer wrong"}):
            res = await r.client.post("/api/trigger", json=ok, headers=headers)
            assert res.status == 403 and "token" in (await res.json())["error"]
        bearer = {"Authorization": "Bearer test-token"}
        assert (await r.client.post("/api/trigger", json=ok, headers=bearer)).status == 200
        # A foreign Origin is refused even with the token (CSRF from another page).
        res = await r.client.post("/api/trigger", json=ok, headers=r.auth(Origin="http://evil.example"))
        assert res.status == 403 and "cross-origin" in (await res.json())["error"]
        res = await r.client.post("/api/trigger", json=ok, headers=r.auth(Origin=f"http://127.0.0.1:{port}"))
        assert res.status == 200
        # A foreign Host (DNS rebinding) is refused for every endpoint, reads included.
        for method, path in (("GET", "/api/view"), ("GET", "/"), ("POST", "/api/trigger")):
            res = await r.client.request(method, path, json=ok, headers=r.auth(Host=f"evil.example:{port}"))
            assert res.status == 403, path
            assert "Host" in (await res.json())["error"]
        assert (await r.client.get("/api/view", headers=r.auth(Host=f"localhost:{port}"))).status == 200
        # The stream needs the token too (WebSockets are not covered by CORS).
        assert (await r.client.get("/api/stream")).status == 403

    run(tmp_path, body)


def test_unknown_routes_and_methods_are_4xx(tmp_path: Path) -> None:
    async def body(r: Rig) -> None:
        assert (await r.client.get("/api/nothing")).status == 404
        assert (await r.client.delete("/api/view", headers=r.auth())).status == 405
        assert (await r.client.get("/api/stream", params={"token": r.token})).status == 400

    run(tmp_path, body)


def test_index_keeps_token_out_of_page_and_serves_assets(tmp_path: Path) -> None:
    async def body(r: Rig) -> None:
        page = await (await r.client.get("/")).text()
        assert '<meta name="lockstep-token" content="">' in page and "test-token" not in page
        for asset in ("app.js", "logs.js", "timeline.js", "graph.js", "style.css"):
            res = await r.client.get(f"/static/{asset}")
            assert res.status == 200, asset

    run(tmp_path, body)


def test_stream_snapshot_then_deltas_of_changed_resources_and_logs(tmp_path: Path) -> None:
    async def body(r: Rig) -> None:
        await r.until(all_ok)
        ws = await r.client.ws_connect("/api/stream", params={"token": r.token, "tail": "0"})
        snap = await ws.receive_json(timeout=5)
        assert snap["type"] == "snapshot"
        assert [v["name"] for v in snap["view"]["resources"]] == START_ORDER
        await r.client.post("/api/trigger", json={"resources": ["c"]}, headers=r.auth())
        changed: set[str] = set()
        texts: list[str] = []
        history: list[dict[str, Any]] = []
        while not (any(t.startswith("working on c") for t in texts) and history):
            msg = await ws.receive_json(timeout=5)
            if msg["type"] == "delta":
                changed |= {v["name"] for v in msg["changed"]}
                history += msg["history"]
            elif msg["type"] == "logs":
                texts += [x["text"] for x in msg["lines"]]
        assert changed == {"c"}  # only the resource whose view changed
        assert history[-1]["resource"] == "c" and history[-1]["reasons"] == [{"kind": "manual"}]
        await ws.close()

    run(tmp_path, body)


def test_serve_advertises_api_file_and_removes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from lockstep.statedir import state_dir
    from lockstep.ui import server

    monkeypatch.setenv("LOCKSTEP_STATE_DIR", str(tmp_path / "state"))

    async def body(r: Rig) -> None:
        task = r.engine.spawn(server.serve(r.engine, "127.0.0.1", 0))
        path = state_dir(r.engine.tiltfile) / "api.json"
        for _ in range(500):  # bounded: serve writes it right after binding
            if path.exists():
                break
            await asyncio.sleep(0.01)
        info = json.loads(path.read_text())
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert info["port"] > 0 and info["url"] == f"http://127.0.0.1:{info['port']}/" and len(info["token"]) > 20
        assert f"lockstep: dashboard at {info['url']}" in capsys.readouterr().out
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        assert not path.exists()

    run(tmp_path, body)
