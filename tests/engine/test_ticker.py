"""The engine's one timer, on a fake clock: the earliest deadline wins; a tick comes once."""

from __future__ import annotations

import asyncio

from lockstep.engine.clock import FakeClock
from lockstep.engine.ticker import Ticker


def test_the_earliest_armed_deadline_ticks_first_and_once() -> None:
    async def main() -> None:
        clock = FakeClock(0.0)
        ticks: list[float] = []
        arrived = asyncio.Event()

        def on_tick(at: float) -> None:
            ticks.append(at)
            arrived.set()

        ticker = Ticker(clock, on_tick)
        task = asyncio.ensure_future(ticker.run())
        ticker.arm(5.0, 0.0)
        ticker.arm(2.0, 0.0)  # earlier: replaces
        ticker.arm(9.0, 0.0)  # later: ignored while 2.0 is pending
        for _ in range(1000):  # the ticker task sleeps on the clock after a few loop iterations
            if clock.next_deadline() == 2.0:
                break
            await asyncio.sleep(0)
        assert clock.next_deadline() == 2.0
        clock.advance(2.0)
        await asyncio.wait_for(arrived.wait(), 5)
        assert ticks == [2.0]
        # Nothing else is armed: more time passing ticks nothing.
        arrived.clear()
        clock.advance(10.0)
        for _ in range(20):
            await asyncio.sleep(0)
        assert ticks == [2.0]
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())
