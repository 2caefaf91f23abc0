"""Selecting resources the Tilt way: a selected resource brings its transitive resource_deps."""

from __future__ import annotations

from collections.abc import Iterable

from lockstep.model.resource import Resource


def with_upstreams(names: Iterable[str], resources: Iterable[Resource]) -> list[str]:
    """names plus every resource they transitively depend on (resource_deps), in first-seen order."""
    deps = {r.name: r.resource_deps for r in resources}
    out: dict[str, None] = {}
    stack = list(names)[::-1]
    while stack:
        name = stack.pop()
        if name in out:
            continue
        out[name] = None
        stack.extend(reversed([d for d in deps.get(name, ()) if d in deps]))
    return list(out)


def upstreams_of(names: Iterable[str], resources: Iterable[Resource]) -> list[str]:
    """The transitive resource_deps of names, without names themselves."""
    chosen = set(names)
    return [n for n in with_upstreams(chosen, resources) if n not in chosen]
