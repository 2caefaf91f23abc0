"""One `kubectl get --watch`, kept open for the life of a Kubernetes runtime.

A watch that ends (API server restart, network) is started again with capped backoff; the
reconnected watch lists everything again, so the old view is dropped at its first document.

A watch that prints nothing at all (no initial list, no event) within the bound is not
trusted to be merely quiet: silence alone proves nothing (a selector that matches no pod
yet lists nothing), so the same query without --watch settles it, under the same bound. A
list that comes back, empty or not, means the API server answers, and the watch goes on;
otherwise the cluster is said not to answer (`on_silent`) and the watch starts again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from lockstep.adapters.kubectl import Cli, JsonStream
from lockstep.adapters.process import ProcessHandle, Stream
from lockstep.engine.serve import backoff_delay


async def watch_forever(cli: Cli, argv: list[str], *, on_doc: Callable[[Any], None], on_reset: Callable[[], None],
                        log: Callable[[str], None], sleep: Callable[[float], Awaitable[None]],
                        bound: Callable[[], float] | None = None,
                        on_silent: Callable[[str], None] = lambda text: None) -> None:
    """Until cancelled. `bound`: seconds for the first answer (None: silence is normal);
    `on_silent`: told, in words, that kubectl did not answer."""
    what = argv[argv.index("get") + 1] if "get" in argv else "objects"
    restarts = 0
    while True:
        stream = JsonStream(lambda bad: log(f"watch: {bad}"))
        fresh = [restarts > 0]
        answered = asyncio.Event()

        def on_line(text: str, s: Stream, stream: JsonStream = stream, fresh: list[bool] = fresh,
                    answered: asyncio.Event = answered) -> None:
            if s is Stream.STDERR:
                log(f"watch: {text}")
                return
            answered.set()
            for doc in stream.feed(text):
                if fresh[0]:
                    fresh[0] = False
                    on_reset()
                on_doc(doc)

        handle = await cli.start(argv, on_line)
        try:
            silence = await _unanswered(cli, handle, answered, argv, what, bound()) if bound is not None else ""
            if silence:
                on_silent(silence)
                ended = f"no answer from `kubectl get {what} --watch`"
            else:
                await handle.wait()
                ended = f"the watch of {what} ended"
        finally:
            await asyncio.shield(handle.stop(1.0))
        restarts += 1
        delay = backoff_delay(restarts)
        log(f"{ended}; reconnecting in {delay:.0f}s")
        await sleep(delay)


async def _unanswered(cli: Cli, handle: ProcessHandle, answered: asyncio.Event, argv: list[str], what: str,
                      bound: float) -> str:
    """"" when the watch answered (or ended) within `bound`, or a plain list does; else why not."""
    heard = asyncio.ensure_future(answered.wait())
    exited = asyncio.ensure_future(handle.wait())
    try:
        done, _ = await asyncio.wait({heard, exited}, timeout=bound, return_when=asyncio.FIRST_COMPLETED)
    finally:
        heard.cancel()
        exited.cancel()
    if done:
        return ""
    listed = await cli.run([a for a in argv if a not in ("--watch", "--output-watch-events")], timeout=bound)
    if listed.code == 0:
        return ""
    why = (listed.stderr.strip().splitlines() or [f"exit code {listed.code}"])[-1]
    return (f"kubectl did not answer: `kubectl get {what} --watch` printed nothing within {bound:g}s, and "
            f"`kubectl get {what}` failed ({why}); is the cluster reachable? (the bound is "
            "update_settings(k8s_upsert_timeout_secs=N))")
