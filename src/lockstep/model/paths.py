"""Which resources does a changed path concern? (deps minus ignores)

Built once per configuration; the reducer asks it for every FilesChanged.
Pure: the one fact about the machine that ignore patterns need (which
directories exist at the filesystem root) is observed at the edge and passed in.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from lockstep.model.context_filter import ContextFilter
from lockstep.model.ignore import IgnoreMatcher
from lockstep.model.resource import Resource


def is_under(path: str, root: str) -> bool:
    """`path` is `root` or lies beneath it (absolute POSIX paths, compared as strings)."""
    if path == root:
        return True
    return path.startswith(root if root.endswith("/") else root + "/")


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


def _ignores(resource: Resource) -> list[str]:
    # custom_build's ignore= applies to its deps, as the resource's own ignores do.
    return [*resource.ignore, *(p for i in resource.images if i.custom_command is not None for p in i.ignore)]


@dataclass(frozen=True)
class _Entry:
    name: str
    roots: tuple[str, ...]
    ignore: IgnoreMatcher
    # docker_build contexts: .dockerignore, ignore= and only= decide (see context_filter).
    contexts: tuple[ContextFilter, ...] = ()

    def concerns(self, path: str) -> bool:
        if any(is_under(path, root) for root in self.roots) and not self.ignore.matches(path):
            return True
        return any(c.triggers(path) for c in self.contexts)


class PathIndex:
    """Maps a changed absolute path to the names of the resources watching it."""

    def __init__(
        self,
        base_dir: str,
        resources: Iterable[Resource],
        global_ignore: Iterable[str] = (),
        *,
        root_dirs: Collection[str] = (),
    ):
        self.base_dir = base_dir
        self.global_ignore = IgnoreMatcher(base_dir, list(global_ignore), root_dirs=root_dirs)
        self._entries = tuple(
            _Entry(r.name, _plain_roots(r), IgnoreMatcher(base_dir, _ignores(r), root_dirs=root_dirs),
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
