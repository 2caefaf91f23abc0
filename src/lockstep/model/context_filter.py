"""Which files of an image's build context count: one rule for triggers and for what is sent.

A file under the context is part of the image when the context's .dockerignore does not
exclude it, no `ignore=` pattern matches it, and, when `only=` is given, it lies under one
of those paths. The same predicate decides whether a change triggers a rebuild and whether
the file goes into the context sent to docker, so an ignored file neither rebuilds the image
nor ends up inside it. The Dockerfile is never filtered out (docker always needs it).
"""

from __future__ import annotations

import posixpath

from lockstep.model.ignore import IgnoreMatcher
from lockstep.model.resource import ImageTarget


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


class ContextFilter:
    def __init__(self, image: ImageTarget) -> None:
        self.context = posixpath.normpath(image.context)
        self.dockerfile = posixpath.normpath(image.dockerfile) if image.dockerfile else ""
        # .dockerignore and ignore= are dockerignore patterns relative to the context.
        # Built-in editor/.git ignores stay the watcher's business, not the image's.
        self._ignore = IgnoreMatcher(self.context, (*image.dockerignore, *image.ignore), builtins=False)
        self._only = tuple(posixpath.normpath(p) for p in image.only)

    def includes(self, path: str) -> bool:
        """Whether `path` (absolute, a file or directory) is part of the context."""
        path = posixpath.normpath(path)
        if path == self.dockerfile:
            return True
        if not _under(path, self.context):
            return False
        if self._ignore.matches(path):
            return False
        # A directory above an `only` path is walked into, but holds nothing by itself.
        return not self._only or any(_under(path, o) for o in self._only)

    def may_contain(self, directory: str) -> bool:
        """Whether a walk must descend into `directory` (conservative)."""
        directory = posixpath.normpath(directory)
        if self._ignore.matches_dir(directory):
            return False
        return not self._only or any(_under(directory, o) or _under(o, directory) for o in self._only)

    def triggers(self, path: str) -> bool:
        """Whether a change at `path` makes the image stale."""
        if path == self.dockerfile:
            return True
        if self.includes(path):
            return True
        # A changed directory (created, renamed) above an `only` path may hold included files.
        return _under(path, self.context) and any(_under(o, path) for o in self._only) and \
            not self._ignore.matches(path)
