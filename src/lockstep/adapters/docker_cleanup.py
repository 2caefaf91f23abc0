"""What lockstep started on Docker, found again by label, and removed (also after a kill -9).

Every container lockstep starts (Compose services) carries two labels:
  dev.lockstep.tiltfile  which Tiltfile's `up` started it (a digest of its absolute path)
  dev.lockstep.run       which run of that `up` (the run's instance tag)
The networks removed with them are the Compose-created networks (labelled with their
project by Compose itself) those containers were attached to; a network someone else made
(an `external` one, `bridge`) is never touched, and one still in use is left in place.

A clean stop removes everything itself (compose_runtime). When lockstep was killed
(`kill -9`, a crash, a lost machine), its containers outlive it: `lockstep down` and the
next `up` of the same Tiltfile sweep them. The sweep runs only when the state directory
holds `docker-started.json`, written before the first container is started, so Tiltfiles
without containers never pay for a `docker ps`.

The sweep is synchronous (the CLI's `down`, and `up` before its engine starts) and bounded
in time; a daemon that cannot be reached is reported, never fatal.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

LABEL_TILTFILE = "dev.lockstep.tiltfile"
LABEL_RUN = "dev.lockstep.run"
COMPOSE_PROJECT = "com.docker.compose.project"
RECORD = "docker-started.json"
TIMEOUT = 20.0  # per docker command: a record exists only where a daemon answered before
# Which daemon the containers were started on: `down` may run in another shell.
_DAEMON_VARS = ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY")


def tiltfile_key(tiltfile: str) -> str:
    return hashlib.sha256(os.path.realpath(tiltfile).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Owner:
    """Whose containers these are: this Tiltfile, this run; and where that is recorded."""

    tiltfile: str  # tiltfile_key()
    run: str
    record: Path | None = None

    @property
    def labels(self) -> dict[str, str]:
        return {LABEL_TILTFILE: self.tiltfile, LABEL_RUN: self.run}

    def note_started(self) -> None:
        """Before a container is started: make `down` and the next `up` look for leftovers."""
        if self.record is None:
            return
        env = {k: os.environ[k] for k in _DAEMON_VARS if k in os.environ}
        with contextlib.suppress(OSError):
            self.record.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.record.with_suffix(".tmp")
            tmp.write_text(json.dumps({"tiltfile": self.tiltfile, "run": self.run, "env": env}))
            os.replace(tmp, self.record)


@dataclass
class Swept:
    containers: list[str] = field(default_factory=list)  # names
    networks: list[str] = field(default_factory=list)
    kept_networks: list[str] = field(default_factory=list)  # still in use by others
    error: str = ""

    def describe(self) -> str:
        parts = []
        if self.containers:
            parts.append(f"{len(self.containers)} container{'s' if len(self.containers) != 1 else ''} "
                         f"({', '.join(sorted(self.containers))})")
        if self.networks:
            parts.append(f"{len(self.networks)} network{'s' if len(self.networks) != 1 else ''} "
                         f"({', '.join(sorted(self.networks))})")
        return " and ".join(parts)


def _docker(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=TIMEOUT, check=False)


def _label(name: str) -> str:
    return "{{.Label " + json.dumps(name) + "}}"


def sweep(tiltfile: str, *, keep_run: str = "", env: dict[str, str] | None = None,
          keep_compose: bool = False) -> Swept:
    """Remove the containers labelled for `tiltfile` (except run `keep_run`'s, and Compose's
    own with `keep_compose`: a live run's Compose runtime removes those itself) and the
    Compose networks they were on."""
    env = env or {}
    out = Swept()
    fmt = "\t".join(["{{.ID}}", "{{.Names}}", _label(LABEL_RUN), _label(COMPOSE_PROJECT), "{{.Networks}}"])
    try:
        ps = _docker(["ps", "-a", "--no-trunc", "--filter", f"label={LABEL_TILTFILE}={tiltfile}",
                      "--format", fmt], env)
    except (OSError, subprocess.TimeoutExpired) as exc:
        out.error = f"cannot run docker: {exc}"
        return out
    if ps.returncode != 0:
        out.error = (ps.stderr.strip().splitlines() or ["docker ps failed"])[-1]
        return out
    ids: list[str] = []
    networks: dict[str, str] = {}  # network name -> the project it should belong to
    for line in ps.stdout.splitlines():
        cols = line.split("\t")
        if len(cols) != 5 or cols[2] == keep_run or (keep_compose and cols[3]):
            continue
        cid, name, _run, project, nets = cols
        ids.append(cid)
        out.containers.append(name)
        for net in filter(None, nets.split(",")):
            if project:
                networks[net] = project
    if ids:
        rm = _docker(["rm", "-f", *ids], env)
        if rm.returncode != 0:
            out.error = (rm.stderr.strip().splitlines() or ["docker rm failed"])[-1]
    for net, project in sorted(networks.items()):
        label = "{{index .Labels " + json.dumps(COMPOSE_PROJECT) + "}}"
        inspect = _docker(["network", "inspect", "--format", label, net], env)
        if inspect.returncode != 0 or inspect.stdout.strip() != project:
            continue  # not that project's own network (external, default bridge) or already gone
        if _docker(["network", "rm", net], env).returncode == 0:
            out.networks.append(net)
        else:
            out.kept_networks.append(net)
    return out


def sweep_recorded(sdir: Path, *, keep_run: str = "") -> Swept | None:
    """Sweep for the run(s) recorded in `sdir`; None when nothing was ever started. The record
    goes once nothing of an earlier run is left (the current run writes its own again)."""
    record = sdir / RECORD
    try:
        data = json.loads(record.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        record.unlink(missing_ok=True)  # torn or foreign: nothing to act on
        return None
    if not isinstance(data, dict) or not isinstance(data.get("tiltfile"), str):
        record.unlink(missing_ok=True)
        return None
    env = data.get("env")
    daemon = {str(k): str(v) for k, v in env.items()} if isinstance(env, dict) else {}
    swept = sweep(data["tiltfile"], keep_run=keep_run, env=daemon)
    if not swept.error:
        record.unlink(missing_ok=True)
    return swept
