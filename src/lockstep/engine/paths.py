"""Which resources does a changed path concern? (deps minus ignores)

Built once per configuration; the reducer asks it for every FilesChanged.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from lockstep.model.resource import Resource
from lockstep.watch.context_filter import ContextFilter
from lockstep.watch.ignore import IgnoreMatcher


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def watched_roots(resource: Resource) -> tuple[str, ...]:
    """Everything whose change makes the resource stale: deps and image inputs."""
    roots = list(resource.deps)
    for image in resource.images:
        if image.context and image.custom_command is None:
            roots.append(image.context)
        if image.dockerfile:
            roots.append(image.dockerfile)
        roots.extend(image.deps)
    return tuple(dict.fromkeys(roots))


def _plain_roots(resource: Resource) -> tuple[str, ...]:
    """Roots filtered by the resource's own ignores (docker_build contexts have their own rules)."""
    return tuple(dict.fromkeys((*resource.deps, *(d for i in resource.images for d in i.deps))))


@dataclass(frozen=True)
class _Entry:
    name: str
    roots: tuple[str, ...]
    ignore: IgnoreMatcher
    contexts: tuple[ContextFilter, ...]

    def concerns(self, path: str) -> bool:
        if any(_under(path, root) for root in self.roots) and not self.ignore.matches(path):
            return True
        return any(c.triggers(path) for c in self.contexts)


class PathIndex:
    """Maps a changed absolute path to the names of the resources watching it."""

    def __init__(self, base_dir: str, resources: Iterable[Resource], global_ignore: Iterable[str] = ()):
        self.base_dir = base_dir
        self.global_ignore = IgnoreMatcher(base_dir, list(global_ignore))
        self._entries = tuple(
            _Entry(r.name, _plain_roots(r), IgnoreMatcher(base_dir, _ignores(r)),
                   tuple(ContextFilter(i) for i in r.images if i.custom_command is None))
            for r in resources
        )
        self._watched = tuple(dict.fromkeys(root for r in resources for root in watched_roots(r)))

    def roots(self) -> tuple[str, ...]:
        return self._watched

    def resources_for(self, path: str) -> frozenset[str]:
        if self.global_ignore.matches(path):
            return frozenset()
        return frozenset(e.name for e in self._entries if e.concerns(path))

    def group(self, paths: Iterable[str]) -> Mapping[str, tuple[str, ...]]:
        """resource name -> the changed paths it watches (sorted)."""
        out: dict[str, set[str]] = {}
        for p in paths:
            for name in self.resources_for(p):
                out.setdefault(name, set()).add(p)
        return {k: tuple(sorted(v)) for k, v in out.items()}

    def watched_by(self, name: str, path: str) -> bool:
        for e in self._entries:
            if e.name == name:
                return e.concerns(path)
        return False


def _ignores(resource: Resource) -> list[str]:
    # custom_build's ignore= applies to its deps, as the resource's own ignores do.
    return [*resource.ignore, *(p for i in resource.images if i.custom_command is not None for p in i.ignore)]
