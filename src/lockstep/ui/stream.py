"""The live stream: one WebSocket per client, pushing view deltas and log lines.

Protocol (server -> client, JSON text frames):
  {"type": "snapshot", "seq", "view": {...}, "log_checkpoint", "finished_total"}   first
  {"type": "delta", "seq", "changed": [view...], "removed": [name...], "config"?, "history": [record...]}
  {"type": "logs", "lines": [line...], "checkpoint", "skipped"}
  {"type": "hb"}   every HEARTBEAT seconds of silence: a client that hears nothing for a few of them
                   knows the server is gone even when no close frame arrives (a killed or stopped `up`)
Query: `logs=SEQ` (send lines after SEQ; default: the last `tail` lines),
`tail=N` (default 1000), `resources=a,b` or repeated `resource=NAME` (log filter), `logs=none`
(views only).

The sender waits on an event the hub sets, then sends everything newer than
what this client has: the await on each send is the backpressure, and the
hub keeps no per-client buffer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

from aiohttp import WSMsgType, web

from lockstep.ui.api import ENGINE, HUB, STREAMS, BadRequest, _int, line_json, log_filter

CHUNK = 2000
HEARTBEAT = 0.5


async def stream(request: web.Request) -> web.StreamResponse:
    engine = request.app[ENGINE]
    hub = request.app[HUB]
    resources = log_filter(request)
    want_logs = request.query.get("logs") != "none"
    tail = _int(request, "tail", 1000, 0, 100_000)
    if want_logs and request.query.get("logs") not in (None, ""):
        log_cp = _int(request, "logs", 0)
    else:
        tail_lines = engine.logs.last(tail, resources)
        log_cp = tail_lines[0].seq - 1 if tail_lines else engine.logs.checkpoint

    ws = web.WebSocketResponse(heartbeat=15.0, max_msg_size=1 << 16)
    if not ws.can_prepare(request).ok:
        raise BadRequest("this endpoint needs a WebSocket upgrade")
    await ws.prepare(request)
    request.app[STREAMS].add(ws)
    event = hub.listen()
    view_seq = hub.seq
    current = engine.snapshot
    finished = current.state.finished_total
    # The hub's views are current (it runs in the engine's subscriber), and kept as JSON text: the
    # snapshot is assembled from that text rather than serialised again (7 MB at 10,000 resources).
    await ws.send_str("".join([
        f'{{"type":"snapshot","seq":{view_seq},"view":{{"now":{json.dumps(current.state.now)},'
        f'"config":{json.dumps(hub.config())},"resources":', hub.resources_json(),
        f'}},"log_checkpoint":{engine.logs.checkpoint},"finished_total":{finished}}}',
    ]))

    async def sender() -> None:
        nonlocal view_seq, finished, log_cp
        event.set()  # send the backlog of logs at once
        while True:
            try:
                # asyncio.timeout, not wait_for: no extra task, so a woken sender runs at once and a
                # short-lived state (an update that starts and ends within a few ms) is still sent.
                async with asyncio.timeout(HEARTBEAT):
                    await event.wait()
            except TimeoutError:
                await ws.send_str('{"type":"hb"}')
                continue
            # While thousands of views change per batch, building them is paced (Hub.pace): the
            # changes of several batches then go out as one delta, each view built once.
            delay = hub.pace()
            if delay > 0:
                await asyncio.sleep(delay)
            event.clear()
            delta = hub.delta_since(view_seq, finished)
            if not delta.empty:
                await ws.send_str(delta.message())
            view_seq, finished = delta.seq, delta.finished_total
            while want_logs:
                lines = engine.logs.since(log_cp, resources, CHUNK)
                if not lines:
                    break
                # The global ring moved past us (a flood, or a slow client): say how much.
                skipped = max(0, lines[0].seq - log_cp - 1) if resources is None else 0
                log_cp = lines[-1].seq
                await ws.send_str(json.dumps({
                    "type": "logs", "lines": [line_json(x) for x in lines],
                    "checkpoint": log_cp, "skipped": skipped,
                }))

    task = asyncio.ensure_future(sender())
    try:
        async for msg in ws:
            if msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                break
            if task.done():
                break
    finally:
        request.app[STREAMS].discard(ws)
        hub.unlisten(event)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionResetError, Exception):
            await task
        await ws.close()
    return ws
