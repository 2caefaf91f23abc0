"""What each process start takes from lockstep's own environment, worked out once rather than per start.

At thousands of starts per `ci` run, two things cost more than they should:

- copying `os.environ` decodes every variable in Python code (about 0.1 ms a
  start): `BaseEnv` keeps the copy while the raw mapping is unchanged (a
  comparison at C speed);
- a command named without a directory (`sh`, as every `cmd` string runs) is
  looked up along PATH by the child, one failed exec per directory before the
  right one: with a long PATH (version managers put theirs first) that took
  3 ms a start here. `ExecPaths` remembers where each name was found, as a
  shell's command hash does; a remembered path that fails is forgotten and the
  search done again. Like a shell's hash, it does not notice a command newly
  installed earlier in PATH.
"""

from __future__ import annotations

import os
import shutil


class BaseEnv:
    """`dict(os.environ)`, rebuilt only when the environment changed (callers must not mutate it)."""

    def __init__(self) -> None:
        self._raw: dict[bytes, bytes] | None = None
        self._env: dict[str, str] = {}

    def get(self) -> dict[str, str]:
        raw: dict[bytes, bytes] | None = getattr(os.environ, "_data", None)
        if raw is None:  # not CPython's os.environ: copy it every time
            return dict(os.environ)
        if raw != self._raw:
            self._raw, self._env = dict(raw), dict(os.environ)
        return self._env


class ExecPaths:
    """Where a command name was found along a PATH, remembered per (name, PATH)."""

    def __init__(self) -> None:
        self._found: dict[tuple[str, str | None], str] = {}

    def resolve(self, name: str, path: str | None) -> str | None:
        """The absolute path to exec for `name`; None to leave the search to the exec itself."""
        if os.sep in name:
            return None
        key = (name, path)
        hit = self._found.get(key)
        if hit is None:
            hit = shutil.which(name, path=path)
            # A relative PATH entry gives a path relative to the working directory: not remembered.
            if hit is None or not os.path.isabs(hit):
                return None
            self._found[key] = hit
        return hit

    def forget(self, name: str, path: str | None) -> None:
        self._found.pop((name, path), None)
