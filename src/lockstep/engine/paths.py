"""Which resources does a changed path concern? (deps minus ignores)

Built once per configuration; the reducer asks it for every FilesChanged.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from lockstep.model.resource import Resource
from lockstep.watch.ignore import IgnoreMatcher


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def watched_roots(resource: Resource) -> tuple[str, ...]:
    """Everything whose change makes the resource stale: deps and image inputs."""
    roots = list(resource.deps)
    for image in resource.images:
        if image.context:
            roots.append(image.context)
        roots.extend(image.deps)
    return tuple(dict.fromkeys(roots))


@dataclass(frozen=True)
class _Entry:
    name: str
    roots: tuple[str, ...]
    ignore: IgnoreMatcher


class PathIndex:
    """Maps a changed absolute path to the names of the resources watching it."""

    def __init__(self, base_dir: str, resources: Iterable[Resource], global_ignore: Iterable[str] = ()):
        self.base_dir = base_dir
        self.global_ignore = IgnoreMatcher(base_dir, list(global_ignore))
        self._entries = tuple(
            _Entry(r.name, watched_roots(r), IgnoreMatcher(base_dir, list(r.ignore)))
            for r in resources
        )

    def roots(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(root for e in self._entries for root in e.roots))

    def resources_for(self, path: str) -> frozenset[str]:
        if self.global_ignore.matches(path):
            return frozenset()
        return frozenset(
            e.name
            for e in self._entries
            if any(_under(path, root) for root in e.roots) and not e.ignore.matches(path)
        )

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
                return any(_under(path, root) for root in e.roots) and not e.ignore.matches(path)
        return False
