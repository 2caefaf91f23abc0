"""Live update, decided: which changes can go into a running container, and how.

Pure (no file system, no clock): the caller says which changed paths still exist locally,
and gets back either `Rebuild` (with the reason in words) or a `LivePlan`: the copies
(local path -> container path), the container paths to delete, the `run` commands to run
and whether to restart the container. The rules are Tilt's, as its live-update reference
states them:

- a changed path under a `fall_back_on` path, or under no `sync` source, means a full
  rebuild (an image build and a new container);
- every other change is synced: a path that exists locally is copied to the container path
  of each sync whose source holds it (a file, or a directory copied whole); a path gone
  locally is removed in the container;
- a `run` step with triggers runs when a changed path lies under one of them (triggers are
  files or directories, resolved against the Tiltfile's directory when it was read); one
  without triggers runs on every live update; in the order written;
- `restart_container()` restarts the container after the runs.

Paths are absolute and normalised, as the loader resolves them.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from lockstep.model.resource import LiveUpdateKind, LiveUpdateStep


@dataclass(frozen=True)
class Copy:
    local: str
    remote: str


@dataclass(frozen=True)
class LivePlan:
    copies: tuple[Copy, ...] = ()
    deletions: tuple[str, ...] = ()
    runs: tuple[tuple[str, ...], ...] = ()
    restart: bool = False

    @property
    def empty(self) -> bool:
        return not (self.copies or self.deletions or self.runs or self.restart)


@dataclass(frozen=True)
class Rebuild:
    reason: str


def under(path: str, root: str) -> bool:
    """`path` is `root` or inside it."""
    root = root.rstrip("/") or "/"
    return path == root or path.startswith(root if root == "/" else root + "/")


def remote_of(local: str, step: LiveUpdateStep) -> str:
    """Where `local` (under the sync's source) goes in the container."""
    src = step.local_path.rstrip("/") or "/"
    rel = "" if local == src else local[len(src):].lstrip("/")
    base = step.remote_path if step.remote_path.startswith("/") else "/" + step.remote_path
    return posixpath.normpath(posixpath.join(base, rel)) if rel else posixpath.normpath(base)


def has_live_update(steps: Iterable[LiveUpdateStep]) -> bool:
    """Whether the steps can update a container at all (a list of only fall_back_on cannot)."""
    return any(s.kind in (LiveUpdateKind.SYNC, LiveUpdateKind.RUN) for s in steps)


def initial_sync(steps: Iterable[LiveUpdateStep]) -> bool:
    return any(s.kind is LiveUpdateKind.INITIAL_SYNC for s in steps)


def _shown(paths: list[str]) -> str:
    return ", ".join(paths[:3]) + (f" (+{len(paths) - 3} more)" if len(paths) > 3 else "")


def plan(steps: tuple[LiveUpdateStep, ...], changed: Mapping[str, bool], *, restart: bool = True) -> LivePlan | Rebuild:
    """The live update for `changed` (path -> whether it still exists locally).

    `restart=False` leaves out restart_container() (an initial sync into a container that has
    only just started)."""
    if not has_live_update(steps):
        return Rebuild("the image has no sync() or run() step")
    syncs = [s for s in steps if s.kind is LiveUpdateKind.SYNC]
    paths = sorted(posixpath.normpath(p) for p in changed)
    fallback = [p for p in paths if any(under(p, f) for s in steps if s.kind is LiveUpdateKind.FALL_BACK_ON
                                        for f in s.paths)]
    if fallback:
        return Rebuild(f"fall_back_on matched: {_shown(fallback)}")
    unsynced = [p for p in paths if not any(under(p, s.local_path) for s in syncs)]
    if unsynced:
        return Rebuild(f"not under any sync(): {_shown(unsynced)}")
    copies: list[Copy] = []
    deletions: list[str] = []
    exists = {posixpath.normpath(p): e for p, e in changed.items()}
    for s in syncs:
        mine = [p for p in paths if under(p, s.local_path)]
        # A directory copied (or removed) whole carries what is inside it: a file reported
        # with its new directory is not copied twice.
        present = _outermost([p for p in mine if exists[p]])
        gone = _outermost([p for p in mine if not exists[p]])
        copies += [Copy(p, remote_of(p, s)) for p in present]
        # (A file gone from a directory that is copied whole must still go from the container.)
        deletions += [remote_of(p, s) for p in gone]
    copies.sort(key=lambda c: (c.local, c.remote))
    runs = tuple(s.command for s in steps if s.kind is LiveUpdateKind.RUN
                 and (not s.trigger or any(under(p, t) for p in paths for t in s.trigger)))
    restarts = restart and any(s.kind is LiveUpdateKind.RESTART_CONTAINER for s in steps)
    return LivePlan(tuple(copies), tuple(dict.fromkeys(deletions)), runs, restarts)


def _outermost(paths: list[str]) -> list[str]:
    """`paths` (sorted) without those inside another one of them."""
    out: list[str] = []
    for p in paths:
        if not any(under(p, q) for q in out):
            out.append(p)
    return out


def sync_roots(steps: Iterable[LiveUpdateStep]) -> tuple[str, ...]:
    """The local sources of the sync steps (what an initial sync copies whole)."""
    return tuple(dict.fromkeys(s.local_path for s in steps if s.kind is LiveUpdateKind.SYNC))
