"""Tiltfile evaluation: real Starlark in, a typed resource graph (`LoadResult`) out.

    from lockstep.tiltfile import load
    result = load("Tiltfile", args=[], dry_run=False)
"""

from lockstep.tiltfile.loader import DEFAULT_TIMEOUT, load

__all__ = ["DEFAULT_TIMEOUT", "load"]
