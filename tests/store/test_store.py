"""The store wakes the tasks waiting on its state, and only those (a batch with no waiter wakes nobody)."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from lockstep.store import actions as A
from lockstep.store.state import EngineState
from lockstep.store.store import Store


def test_waiters_see_each_batch_and_the_count_goes_back_to_zero() -> None:
    async def main() -> None:
        store = Store(EngineState())
        runner = asyncio.ensure_future(store.run())
        waiting = asyncio.ensure_future(store.wait_for(lambda s: s.now >= 3.0, timeout=5))
        await asyncio.sleep(0)
        assert store._waiters == 1
        for t in (1.0, 2.0, 3.0):
            store.dispatch(A.Tick(t))
            await asyncio.sleep(0)
        assert (await waiting).now == 3.0
        store.dispatch(A.Tick(4.0))
        await store.drained()
        assert store.state.now == 4.0
        # A wait that is given up (cancelled, as a timeout does) is no longer counted either.
        gone = asyncio.ensure_future(store.wait_for(lambda s: s.now >= 99.0))
        await asyncio.sleep(0)
        assert store._waiters == 1
        gone.cancel()
        with pytest.raises(asyncio.CancelledError):
            await gone
        assert store._waiters == 0
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner

    asyncio.run(main())
