"""Containers that a `cmd`/`serve_cmd` starts with `docker run`, owned like Compose services.

A container is a daemon-side object: killing the `docker run` client (the watchdog kills the
whole process group when lockstep is `kill -9`ed) does not stop it. The client forwards a
SIGTERM to the container, but a container whose main process ignores it (any PID 1 without
a handler, such as `sleep` or many servers without `--init`) survives, and so does one
started with `-d`. Nothing ties such a container to the process that started it, so lockstep
cannot find it by itself; it can find it by label, as it finds its Compose containers
(adapters/docker_cleanup.py).

So every process lockstep starts gets `LOCKSTEP_DOCKER_LABELS` in its environment: the
`--label` options naming this Tiltfile and this run. A command that opts in writes
`docker run $LOCKSTEP_DOCKER_LABELS ...` (unquoted: two options). Such a container is
removed at a clean stop of lockstep and, after a `kill -9`, by `lockstep down` and by the
next `up`/`ci` of the same Tiltfile, before anything is started again (so a fixed
`--name` is free again). Containers without the labels are never touched.

The sweep looks for containers only where it was told some exist (the state dir's record,
as for Compose): the record is written as soon as a loaded Tiltfile has a command that
names the variable. A script that uses it must get it on its command line too
(`./run.sh $LOCKSTEP_DOCKER_LABELS`, or `LOCKSTEP_DOCKER_LABELS=$LOCKSTEP_DOCKER_LABELS ./run.sh`).
"""

from __future__ import annotations

import asyncio
import os
import sys

from lockstep.adapters.docker_cleanup import LABEL_RUN, LABEL_TILTFILE, Owner, sweep
from lockstep.engine.port import EnginePort
from lockstep.engine.snapshot import Snapshot
from lockstep.model.resource import Resource

VAR = "LOCKSTEP_DOCKER_LABELS"


def label_options(owner: Owner) -> str:
    return f"--label {LABEL_TILTFILE}={owner.tiltfile} --label {LABEL_RUN}={owner.run}"


def names_variable(r: Resource) -> bool:
    """Whether the resource's own commands pass the labels to something."""
    if r.local is None:
        return False
    return any(VAR in arg for cmd in (r.local.cmd, r.local.serve_cmd) for arg in cmd.argv)


class DockerLabels:
    """Offers the labels to every command, records that some are used, and removes this
    Tiltfile's labelled containers when lockstep stops."""

    def __init__(self, engine: EnginePort, owner: Owner) -> None:
        self.engine = engine
        self.owner = owner
        self._generation = -1
        self._used = False
        # The environment every child inherits (read once per start by the process adapter).
        os.environ[VAR] = label_options(owner)
        engine.subscribe(self._on_snapshot)

    def _on_snapshot(self, snap: Snapshot) -> None:
        state = snap.state
        if state.config_generation == self._generation or self._used:
            return
        self._generation = state.config_generation
        if any(names_variable(r) for r in state.resources.values()):
            # Before the command starts (its process is spawned after this callback returns).
            self.owner.note_started()
            self._used = True
            self.engine.spawn(self._remove_at_stop(), "docker-labels")

    async def _remove_at_stop(self) -> None:
        try:
            await asyncio.Event().wait()  # until lockstep stops (the engine cancels its tasks)
        finally:
            # This run's (a killed run's were swept at the start); Compose's are its runtime's.
            swept = await asyncio.to_thread(sweep, self.owner.tiltfile, keep_compose=True)
            if swept.describe():
                print(f"lockstep: removed {swept.describe()} started with ${VAR}", file=sys.stderr, flush=True)
            if swept.error:
                print(f"lockstep: warning: could not remove the containers started with ${VAR}: {swept.error}",
                      file=sys.stderr, flush=True)
