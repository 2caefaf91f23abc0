"""The edge of ignore matching: `.tiltignore` files and the filesystem facts.

The pattern rules and the matching itself are pure and live in
`lockstep.model.ignore`. This module reads `.tiltignore` files and observes
which directories exist at the filesystem root, which decides whether a
pattern such as `/tmp/x` names an absolute path or the base-relative `tmp/x`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from lockstep.model.ignore import AnyMatcher
from lockstep.model.ignore import IgnoreMatcher as PureIgnoreMatcher

__all__ = ["AnyMatcher", "IgnoreMatcher", "filesystem_roots", "load_tiltignore"]


def filesystem_roots() -> frozenset[str]:
    """The directories at the filesystem root: what makes `/name/...` an absolute pattern."""
    try:
        with os.scandir("/") as entries:
            return frozenset(e.name for e in entries if e.is_dir())
    except OSError:
        return frozenset()


def load_tiltignore(directory: str) -> list[str]:
    """The patterns of `directory/.tiltignore` (comments and blank lines dropped)."""
    path = os.path.join(directory, ".tiltignore")
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [s for s in (line.strip() for line in lines) if s and not s.startswith("#")]


class IgnoreMatcher(PureIgnoreMatcher):
    """A matcher whose absolute patterns are classified against this machine's filesystem."""

    def __init__(self, base_dir: str, patterns: Iterable[str] = (), *, builtins: bool = True) -> None:
        super().__init__(os.path.abspath(base_dir), patterns, builtins=builtins, root_dirs=filesystem_roots())
