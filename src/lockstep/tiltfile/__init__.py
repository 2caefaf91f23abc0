"""Tiltfile evaluation: real Starlark in, a typed resource graph (`LoadResult`) out.

    from lockstep.tiltfile import load
    result = load("Tiltfile", args=[], dry_run=False)

`load` is looked up on first use: importing one module of this package (`refs`,
`isolate`) must not import the whole loader, its builtins and YAML with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lockstep.tiltfile.loader import DEFAULT_TIMEOUT, load

__all__ = ["DEFAULT_TIMEOUT", "load"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from lockstep.tiltfile import loader

        return getattr(loader, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
