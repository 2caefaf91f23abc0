"""The cyclic garbage collector's settings while the engine runs (`up`, `ci`).

Every update allocates many small, short-lived objects on the event loop (frozen
state values, records, futures, log lines); nearly all of them die by reference
count, but CPython still runs a young-generation collection every 700 net
container allocations, and every tenth of those a middle one, and now and then a
full one that walks the whole heap, the loaded configuration and the graph
included. At 10,000 resources that was 0.53 s of a 8.5 s `ci` (gen2: 6 passes,
0.34 s). Two settings, for the engine's run only:

- a first threshold of 50,000: a young collection costs what survives it, so
  fewer of them (at 10,000 resources, one per ~700 updates instead of one per
  ~13) scan the objects of a batch that are still alive far fewer times, and the
  full collections that follow from them stop (6 -> 0 in that run);
- `gc.freeze()` once the first configuration is applied: the resources, the
  topology and the interned names live as long as the run, so full collections
  stop walking them.

Memory stays bounded: the collector still runs (every 50,000 net allocations,
a few MB of objects at most between young passes), the last two thresholds
are CPython's own, and frozen objects are still freed by reference count when a
reload replaces them (only a reference cycle among them would outlive it, once).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from lockstep.engine.snapshot import Snapshot

THRESHOLDS = (50_000, 10, 10)

Subscribe = Callable[[Callable[[Snapshot], None]], Callable[[], None]]


@contextmanager
def engine_gc(subscribe: Subscribe) -> Iterator[None]:
    """For the block: the higher threshold, and a freeze after the first snapshot with a configuration.

    `subscribe` is the engine's (Engine.subscribe). The previous thresholds come back on exit and
    the frozen objects go back to the oldest generation, so that a process running the engine
    more than once (the tests) does not keep them out of collections for ever.
    """
    previous = gc.get_threshold()
    frozen = False

    def freeze_once(snap: Snapshot) -> None:
        nonlocal frozen
        if not frozen and snap.state.config is not None:
            frozen = True
            gc.freeze()
            unsubscribe()

    unsubscribe = subscribe(freeze_once)
    gc.set_threshold(*THRESHOLDS)
    try:
        yield
    finally:
        unsubscribe()
        gc.set_threshold(*previous)
        if frozen:
            gc.unfreeze()
