"""One timer for the engine: wake the store at the earliest deadline anyone asked for.

Holds that end by themselves (a quiet window, the Tiltfile's own quiet window)
need a step when they end; `arm` asks for one, and the ticker dispatches a
`Tick` at that time on the engine's clock (a fake clock in tests).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from lockstep.engine.clock import Clock


class Ticker:
    def __init__(self, clock: Clock, on_tick: Callable[[float], None]) -> None:
        self._clock = clock
        self._on_tick = on_tick
        self._wake = asyncio.Event()
        self._at: float | None = None

    def arm(self, at: float, now: float) -> None:
        """Tick at `at`, unless an earlier tick is already due (a later one re-arms after it)."""
        if self._at is None or at < self._at or self._at <= now:
            self._at = at
            self._wake.set()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            deadline = self._at
            if deadline is None:
                continue
            sleeper = asyncio.ensure_future(self._clock.sleep_until(deadline))
            woken = asyncio.ensure_future(self._wake.wait())
            done, _ = await asyncio.wait({sleeper, woken}, return_when=asyncio.FIRST_COMPLETED)
            for t in (sleeper, woken):
                if t not in done:
                    t.cancel()
            if sleeper in done:
                self._at = None
                self._on_tick(self._clock.now())
