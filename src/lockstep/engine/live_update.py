"""Live update: put changed files into the running containers instead of rebuilding.

A runner (Compose services: `ImageRunner`; Kubernetes: `K8sRunner`) asks `LiveUpdater.decide`
first. A live update is tried only when the resource was deployed by this lockstep (the
previous update produced its images), the last image build did not fail, and the update is
for changed files (with, possibly, upstream updates, a re-run after tainted inputs, or a
manual trigger of those pending changes); the planner (`model/liveupdate.py`) then says which
files go where, or that a full rebuild is needed.

The contract needs nothing new from the scheduler: the synced files are watched paths of
the resource, so a live update is an update like any other, started only once its
upstreams settle (C1) and never while a writer of those files runs (C4). What the updater
adds is the last line of defence of C4: the tar is checked for files that moved while it
was read, and such a tar is never extracted.

A run step that fails fails the update, with its output in the log; the container keeps
what was synced (as in Tilt), and the next change retries with the files of the failed
attempt added, so the failed step's trigger still matches.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from lockstep.adapters import scratch
from lockstep.adapters.docker_exec import Container, LogFn
from lockstep.adapters.live_sync import existing, write_tar
from lockstep.engine.runners import UpdateJob
from lockstep.model.context_filter import ContextFilter
from lockstep.model.ignore import editor_temp
from lockstep.model.liveupdate import LivePlan, Rebuild, has_live_update, plan, sync_roots
from lockstep.model.resource import Cmd, ImageTarget, Resource
from lockstep.model.update import ReasonKind

# Reasons a live update can serve: file changes, and what comes with them (an upstream's
# update, a re-run after tainted inputs, or a manual trigger of pending changes, as Tilt
# live-updates a manual-mode resource's pending files when it is triggered).
_LIVE_REASONS = frozenset({ReasonKind.FILES, ReasonKind.TAINTED, ReasonKind.UPSTREAM, ReasonKind.MANUAL})


@dataclass(frozen=True)
class Applied:
    ok: bool
    error: str = ""


def live_image(r: Resource, refs: Iterable[str]) -> ImageTarget | None:
    """The image of `r` deployed under one of `refs` that has live-update steps."""
    wanted = set(refs)
    for img in r.images:
        if img.ref in wanted and has_live_update(img.live_update):
            return img
    return None


def _shown(paths: Sequence[str]) -> str:
    return ", ".join(paths[:5]) + (f" (+{len(paths) - 5} more)" if len(paths) > 5 else "")


def _files(n: int) -> str:
    return f"{n} file{'' if n == 1 else 's'}"


def _filters(img: ImageTarget) -> tuple[Callable[[str], bool], Callable[[str], bool]]:
    """Which files of a copied directory go into the container, and which directories are
    walked: the image's own context filter, and never an editor's temporary or lock file
    (they trigger nothing, as in Tilt, so they are not synced with a directory either)."""
    flt = ContextFilter(img) if img.custom_command is None and img.context else None
    if flt is None:
        return (lambda path: not editor_temp(path)), (lambda path: not editor_temp(path))
    return (lambda path: flt.includes(path) and not editor_temp(path)), \
        (lambda path: flt.may_contain(path) and not editor_temp(path))


class LiveUpdater:
    def __init__(self) -> None:
        # Files of a failed live update, retried with the next change.
        self._retry: dict[str, frozenset[str]] = {}
        # Resources whose last image build failed: the next update rebuilds.
        self._broken: set[str] = set()

    def decide(self, job: UpdateJob, img: ImageTarget | None) -> LivePlan | Rebuild:
        name = job.resource.name
        kinds = {r.kind for r in job.reasons}
        if img is None:
            return Rebuild("no live_update")
        if not job.previous.images:
            return Rebuild("nothing deployed yet")
        if name in self._broken:
            return Rebuild("the last build failed")
        if not kinds <= _LIVE_REASONS:
            return Rebuild("; ".join(r.describe() for r in job.reasons if r.kind not in _LIVE_REASONS))
        if ReasonKind.FILES not in kinds:
            return Rebuild("no file changed")
        paths = set(job.changed_paths) | self._retry.get(name, frozenset())
        return plan(img.live_update, existing(sorted(paths)))

    def initial(self, img: ImageTarget) -> LivePlan | None:
        """What initial_sync() puts into a container just started: every sync source whole."""
        roots = [p for p in sync_roots(img.live_update) if os.path.lexists(p)]
        got = plan(img.live_update, dict.fromkeys(roots, True), restart=False)
        return got if isinstance(got, LivePlan) and not got.empty else None

    def rebuilt(self, name: str, ok: bool) -> None:
        """A full build of `name` finished: it carried every change so far, or it failed."""
        self._retry.pop(name, None)
        if ok:
            self._broken.discard(name)
        else:
            self._broken.add(name)

    async def apply(self, job: UpdateJob, img: ImageTarget, p: LivePlan, containers: Sequence[Container],
                    log: LogFn) -> Applied:
        name = job.resource.name
        paths = frozenset(job.changed_paths) | self._retry.get(name, frozenset())
        done = await self.apply_plan(img, p, containers, log)
        if done.ok:
            self._retry.pop(name, None)
        else:
            self._retry[name] = paths
        return done

    async def apply_plan(self, img: ImageTarget, p: LivePlan, containers: Sequence[Container],
                         log: LogFn) -> Applied:
        if not containers:
            return Applied(False, "no running container to update")
        tmp = scratch.mkdtemp("lockstep-sync-", avoid=[c.local for c in p.copies])
        try:
            files: tuple[str, ...] = ()
            tar_path = ""
            if p.copies:
                include, descend = _filters(img)
                tar = await asyncio.to_thread(write_tar, p.copies, os.path.join(tmp, "sync.tar"), include, descend)
                if not tar.stable:
                    return Applied(False, "files changed while they were read for the sync: nothing synced, "
                                          "it is retried once the writes settle")
                files, tar_path = tar.files, tar.path
            for c in containers:
                done = await self._one(c, p, files, tar_path, log)
                if not done.ok:
                    return done
            return Applied(True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    async def _one(self, c: Container, p: LivePlan, files: tuple[str, ...], tar_path: str, log: LogFn) -> Applied:
        if p.deletions:
            if await c.remove(p.deletions, log) != 0:
                return Applied(False, f"removing {_shown(p.deletions)} in {c.label} failed")
            log(f"Removed {_files(len(p.deletions))} from {c.label}: {_shown(p.deletions)}", False)
        if tar_path:
            if await c.extract(tar_path, log) != 0:
                return Applied(False, f"copying files into {c.label} failed (does the image have `tar`?)")
            log(f"Synced {_files(len(files))} into {c.label}: {_shown(files)}", False)
        for argv in p.runs:
            shown = Cmd(argv).display()
            log(f"Running in {c.label}: {shown}", False)
            code = await c.run(argv, log)
            if code != 0:
                return Applied(False, f"run step `{shown}` in {c.label} exited with code {code}; the synced "
                                      "files stay, and the next change retries")
        if p.restart:
            log(f"Restarting {c.label}", False)
            if await c.restart(log) != 0:
                return Applied(False, f"restarting {c.label} failed")
        return Applied(True)
