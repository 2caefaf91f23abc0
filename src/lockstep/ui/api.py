"""HTTP API handlers: read view models, validate requests, dispatch actions.

Handlers never call runners or touch processes (docs/engine.md, "One loop, one writer"): a mutation
is an action for the store, and its effect shows up in the next view. Every
malformed request gets a 4xx with a message; `_errors` turns anything that
slips through into a 400 rather than a 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from lockstep.engine.engine import Engine
from lockstep.logs.pager import lines_before
from lockstep.model.resource import TriggerMode
from lockstep.model.selection import upstreams_of, with_upstreams
from lockstep.store import actions as A
from lockstep.store.state import HISTORY_IN_MEMORY
from lockstep.ui.buttons import ButtonRunner, buttons_of
from lockstep.ui.excerpt import excerpts
from lockstep.ui.hub import Hub
from lockstep.ui.viewmodel import JSON, config_view, graph_view, history_view, resource_detail

ENGINE: web.AppKey[Engine] = web.AppKey("engine", Engine)
HUB: web.AppKey[Hub] = web.AppKey("hub", Hub)
BUTTONS: web.AppKey[ButtonRunner] = web.AppKey("buttons", ButtonRunner)
# Open live streams: closed first thing on shutdown, so pages learn at once that the server is going away
# instead of the server waiting for them (aiohttp waits for open handlers before it stops).
STREAMS: web.AppKey[set[web.WebSocketResponse]] = web.AppKey("streams")

MAX_LOG_LIMIT = 10_000


class BadRequest(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


async def _drained(engine: Engine) -> None:
    """Let the store reduce what a handler dispatched, so the reply (and the next
    read, e.g. `trigger` then `wait`) already reflects it."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(engine.store.drained(), 2.0)


def _fail(message: str, status: int = 400) -> web.Response:
    return web.json_response({"error": message}, status=status)


@web.middleware
async def errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except BadRequest as exc:
        return _fail(str(exc), exc.status)
    except web.HTTPException as exc:
        if exc.status >= 400 and exc.content_type != "application/json":
            return _fail(exc.reason, exc.status)
        raise


async def _body(request: web.Request) -> dict[str, Any]:
    if request.content_length is not None and request.content_length > 1 << 20:
        raise BadRequest("request body too large", 413)
    try:
        data = json.loads(await request.text() or "{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"body is not valid JSON: {exc}") from None
    except RecursionError:
        raise BadRequest("body is not valid JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise BadRequest("body must be a JSON object")
    return data


def _int(request: web.Request, key: str, default: int, lo: int = 0, hi: int | None = None) -> int:
    raw = request.query.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{key} must be an integer, got {raw!r}") from None
    if value < lo or (hi is not None and value > hi):
        raise BadRequest(f"{key} must be between {lo} and {hi if hi is not None else 'infinity'}")
    return value


def _names(engine: Engine, data: dict[str, Any], key: str = "resources", allow_all: bool = False) -> list[str]:
    if allow_all and data.get("all") is True:
        return list(engine.state.resources)
    names = data.get(key)
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise BadRequest(f"{key!r} must be a non-empty list of resource names")
    unknown = [n for n in names if n not in engine.state.resources]
    if unknown:
        raise BadRequest(f"no such resource: {', '.join(unknown)}", 404)
    return list(dict.fromkeys(names))


# -- reads ------------------------------------------------------------------


def accepts_gzip(request: web.Request) -> bool:
    """The client listed gzip in Accept-Encoding (with a non-zero q, RFC 9110)."""
    for item in request.headers.get("Accept-Encoding", "").split(","):
        coding, _, params = item.partition(";")
        if coding.strip().lower() not in ("gzip", "x-gzip"):
            continue
        q = params.strip().lower()
        if q.startswith("q="):
            try:
                return float(q[2:]) > 0
            except ValueError:
                return False
        return True
    return False


async def get_view(request: web.Request) -> web.Response:
    """Assembled by the hub from each resource's cached JSON text (and gzip, when asked)."""
    engine = request.app[ENGINE]
    hub = request.app[HUB]
    tail = {
        "now": engine.snapshot.state.now,
        "config": config_view(engine.snapshot.state, engine.args),
        "log_checkpoint": engine.logs.checkpoint,
        "seq": hub.seq,
        "storage_error": engine.logs.health.problem,  # e.g. "logs are not being saved: disk full"
    }
    gzip = accepts_gzip(request)
    body = hub.view_body(tail, gzip)
    headers = {"Vary": "Accept-Encoding"}
    if gzip:
        headers["Content-Encoding"] = "gzip"
    return web.Response(body=body, content_type="application/json", headers=headers)


async def get_resource(request: web.Request) -> web.Response:
    engine = request.app[ENGINE]
    name = request.match_info["name"]
    detail = resource_detail(engine.snapshot.state, engine.snapshot.decision, name)
    if detail is None:
        raise BadRequest(f"no such resource: {name}", 404)
    return web.json_response(excerpts(engine.logs).add_to(detail))


async def get_history(request: web.Request) -> web.Response:
    engine = request.app[ENGINE]
    resource = request.query.get("resource") or None
    if resource is not None and resource not in engine.state.resources:
        raise BadRequest(f"no such resource: {resource}", 404)
    limit = _int(request, "limit", 500, 0, HISTORY_IN_MEMORY)
    return web.json_response(history_view(engine.state, resource, limit))


async def get_graph(request: web.Request) -> web.Response:
    engine = request.app[ENGINE]
    return web.json_response(graph_view(engine.snapshot.state, engine.snapshot.decision))


def line_json(line: Any) -> JSON:
    return {
        "seq": line.seq,
        "resource": line.resource,
        "source": line.source.value,
        "level": line.level.value,
        "stream": line.stream.value,
        "at": line.at,
        "text": line.text,
    }


def log_filter(request: web.Request) -> list[str] | None:
    """The resources whose log lines are wanted, or None for all: `resources=a,b`, and
    `resource=NAME` (repeatable) for a name that itself contains a comma, as Tilt allows."""
    names = [r for r in request.query.get("resources", "").split(",") if r]
    names += [r for r in request.query.getall("resource", []) if r]
    return names or None


async def get_logs(request: web.Request) -> web.Response:
    """Lines after `since` (a checkpoint), or the last `tail`, or the `limit` lines `before` a seq
    (scroll-back: from memory, else from the log files); page forwards with `next`."""
    engine = request.app[ENGINE]
    resources = log_filter(request)
    limit = _int(request, "limit", 1000, 1, MAX_LOG_LIMIT)
    if "before" in request.query:
        before = _int(request, "before", 0)
        if resources is None:
            lines = [x for x in engine.logs.tail(None, 1 << 30) if x.seq < before][-limit:]
        else:
            lines = lines_before(engine.logs, resources, before, limit)
        return web.json_response({
            "lines": [line_json(x) for x in lines],
            # True when nothing older exists: the page reached the start of this run's log.
            "complete": len(lines) < limit,
            "checkpoint": engine.logs.checkpoint,
        })
    if "tail" in request.query:
        tail = _int(request, "tail", 100, 0, MAX_LOG_LIMIT)
        if resources is None:
            lines = engine.logs.tail(None, tail)
        else:
            lines = lines_before(engine.logs, resources, engine.logs.checkpoint + 1, tail) if tail else []
    else:
        since = _int(request, "since", 0)
        lines = engine.logs.since(since, resources, limit)
    checkpoint = lines[-1].seq if lines else max(engine.logs.checkpoint, 0)
    return web.json_response({
        "lines": [line_json(x) for x in lines],
        "next": checkpoint,
        "checkpoint": engine.logs.checkpoint,
    })


async def get_args(request: web.Request) -> web.Response:
    return web.json_response({"args": list(request.app[ENGINE].args)})


# -- mutations ----------------------------------------------------------------


async def post_trigger(request: web.Request) -> web.Response:
    engine = request.app[ENGINE]
    names = _names(engine, await _body(request))
    disabled = [n for n in names if not engine.state.statuses[n].enabled]
    if disabled:
        raise BadRequest(f"cannot trigger disabled resource: {', '.join(disabled)}", 409)
    for name in names:
        engine.dispatch(A.Trigger(name, at=engine.now()))
    await _drained(engine)
    # A trigger is a request: say what keeps it from starting now, if anything does.
    state, decision = engine.snapshot.state, engine.snapshot.decision
    waiting: dict[str, list[str]] = {}
    for name in names:
        s = state.statuses[name]
        if s.running is not None and s.pending:
            waiting[name] = [f"update #{s.running.id} is running; it updates again when that one ends"]
        elif s.pending:
            waiting[name] = [h.describe() for h in decision.holds.get(name, ())] or ["queued"]
    return web.json_response({"triggered": names, "waiting": waiting})


async def post_enable(request: web.Request) -> web.Response:
    """Body: {"resources": [...]} or {"all": true}; "enabled": bool; "only": true disables the rest."""
    engine = request.app[ENGINE]
    data = await _body(request)
    enabled = data.get("enabled")
    if not isinstance(enabled, bool):
        raise BadRequest("'enabled' must be true or false")
    for flag in ("only", "with_deps"):
        if not isinstance(data.get(flag, False), bool):
            raise BadRequest(f"'{flag}' must be true or false")
    names = _names(engine, data, allow_all=True)
    if enabled and data.get("with_deps") is True:
        names = with_upstreams(names, engine.state.resources.values())
    changed = [n for n in names if engine.state.statuses[n].enabled != enabled]
    for name in names:
        engine.dispatch(A.SetEnabled(name, enabled, at=engine.now()))
    if data.get("only") is True:
        for name in engine.state.resources:
            if name not in names:
                engine.dispatch(A.SetEnabled(name, not enabled, at=engine.now()))
    await _drained(engine)
    state = engine.state
    # What the newly enabled resources will wait on for ever unless it is enabled too.
    disabled_ups = {
        n: [u for u in upstreams_of([n], state.resources.values()) if not state.statuses[u].enabled]
        for n in names
    } if enabled else {}
    return web.json_response({"resources": names, "enabled": enabled, "changed": changed,
                              "disabled_upstreams": {n: u for n, u in disabled_ups.items() if u}})


async def post_trigger_mode(request: web.Request) -> web.Response:
    engine = request.app[ENGINE]
    data = await _body(request)
    names = _names(engine, data)
    try:
        mode = TriggerMode(data.get("mode"))
    except ValueError:
        raise BadRequest("'mode' must be 'auto' or 'manual'") from None
    for name in names:
        engine.dispatch(A.SetTriggerMode(name, mode, at=engine.now()))
    await _drained(engine)
    return web.json_response({"resources": names, "mode": mode.value})


async def post_args(request: web.Request) -> web.Response:
    """Replace the Tiltfile arguments (what follows `--`) and re-evaluate the Tiltfile."""
    engine = request.app[ENGINE]
    args = (await _body(request)).get("args")
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise BadRequest("'args' must be a list of strings")
    engine.args = list(args)
    engine.reload()
    # Once this answers, the view says "reloading": a `wait` for a resource the new args create waits for it.
    await _drained(engine)
    return web.json_response({"args": engine.args})


async def post_forget_inferred(request: web.Request) -> web.Response:
    """Body: {"edges": [["up", "down"], ...]} or {"all": true}: forget learnt edges (C4)."""
    engine = request.app[ENGINE]
    data = await _body(request)
    known = engine.state.inferred
    if data.get("all") is True:
        edges = known
    else:
        raw = data.get("edges")
        if not isinstance(raw, list) or not all(
            isinstance(e, list) and len(e) == 2 and all(isinstance(x, str) for x in e) for e in raw
        ):
            raise BadRequest("'edges' must be a list of [upstream, downstream] pairs, or send {'all': true}")
        edges = frozenset((str(e[0]), str(e[1])) for e in raw)
        unknown = sorted(f"{u}:{d}" for u, d in edges - known)
        if unknown:
            raise BadRequest(f"not an inferred edge: {', '.join(unknown)}", 404)
    if data.get("all") is True:
        engine.dispatch(A.ForgetAllInferred(engine.now()))
    elif edges:
        engine.dispatch(A.ForgetInferred(frozenset(edges), at=engine.now()))
    await _drained(engine)
    return web.json_response({"forgotten": sorted([list(e) for e in edges])})


async def post_button(request: web.Request) -> web.Response:
    """Body: {"name": BUTTON}: run a `v1alpha1.ui_button`'s command once."""
    engine = request.app[ENGINE]
    runner = request.app[BUTTONS]
    name = (await _body(request)).get("name")
    if not isinstance(name, str):
        raise BadRequest("'name' must be a button name")
    button = next((b for b in buttons_of(engine.state.config) if b.name == name), None)
    if button is None:
        raise BadRequest(f"no such button: {name}", 404)
    if button.disabled or not button.argv:
        raise BadRequest(f"button {name} has no command to run (no v1alpha1.cmd starts on it)", 409)
    if button.resource is not None and button.resource in engine.state.statuses and not engine.state.statuses[
        button.resource
    ].enabled:
        raise BadRequest(f"button {name} belongs to disabled resource {button.resource}", 409)
    if runner.running(name):
        raise BadRequest(f"button {name} is still running", 409)
    runner.start(button)
    return web.json_response({"started": name})


def add_routes(app: web.Application) -> None:
    app[BUTTONS] = ButtonRunner(app[ENGINE].logs, time.time)

    async def stop_buttons(app: web.Application) -> None:
        await app[BUTTONS].close()

    app.on_cleanup.append(stop_buttons)
    app[STREAMS] = set()

    async def close_streams(app: web.Application) -> None:
        streams = app[STREAMS]
        for ws in [*streams]:
            with contextlib.suppress(Exception):
                await ws.close(code=1001, message=b"lockstep is stopping")

    app.on_shutdown.append(close_streams)
    app.router.add_post("/api/button", post_button)
    app.router.add_get("/api/view", get_view)
    app.router.add_get("/api/resources/{name}", get_resource)
    app.router.add_get("/api/history", get_history)
    app.router.add_get("/api/graph", get_graph)
    app.router.add_get("/api/logs", get_logs)
    app.router.add_get("/api/args", get_args)
    app.router.add_post("/api/trigger", post_trigger)
    app.router.add_post("/api/enable", post_enable)
    app.router.add_post("/api/trigger-mode", post_trigger_mode)
    app.router.add_post("/api/args", post_args)
    app.router.add_post("/api/inferred/forget", post_forget_inferred)
