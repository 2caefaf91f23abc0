"""Docker Compose through its CLI: `docker compose` (v2) when the client has it, else `docker-compose` (v1).

lockstep always names the project (`-p`) and the files (`-f`), so both versions address the
same containers. A service whose image this Tiltfile builds gets that image through a small
override file (`services: {NAME: {image: BUILT_REF}}`) and is started with `--no-build`:
compose never builds what lockstep already built.
"""

from __future__ import annotations

import enum
import json
import os
import re

from lockstep.adapters.docker import DockerCli, DockerError

_VERSION = re.compile(r"^\s*version\s*:\s*['\"]?([\d.]+)['\"]?\s*$", re.MULTILINE)


class ComposeFlavor(enum.Enum):
    V2 = "docker compose"
    V1 = "docker-compose"


def project_name(files: tuple[str, ...], explicit: str = "") -> str:
    """`explicit`, or compose's default: the first file's directory name; lower-cased, keeping
    letters, digits, `_` and `-` (the loader names build-only services' images the same way)."""
    raw = explicit or (os.path.basename(os.path.dirname(os.path.abspath(files[0]))) if files else "default")
    name = re.sub(r"[^a-z0-9_-]", "", raw.lower())
    return name or "default"


def base_argv(flavor: ComposeFlavor, project: str, files: tuple[str, ...], env_file: str = "") -> list[str]:
    argv = ["docker", "compose"] if flavor is ComposeFlavor.V2 else ["docker-compose"]
    if env_file:  # docker_compose(env_file=): both versions take it before the command
        argv += ["--env-file", env_file]
    argv += ["-p", project]
    for f in files:
        argv += ["-f", f]
    return argv


def up_argv(flavor: ComposeFlavor, project: str, files: tuple[str, ...], service: str,
            env_file: str = "") -> list[str]:
    # --no-deps: other services are resources of their own, ordered by the engine.
    return [*base_argv(flavor, project, files, env_file), "up", "-d", "--no-deps", "--no-build", service]


def ps_argv(flavor: ComposeFlavor, project: str, files: tuple[str, ...], service: str,
            env_file: str = "") -> list[str]:
    return [*base_argv(flavor, project, files, env_file), "ps", "-q", service]


def logs_argv(flavor: ComposeFlavor, project: str, files: tuple[str, ...], service: str,
              env_file: str = "") -> list[str]:
    return [*base_argv(flavor, project, files, env_file), "logs", "-f", "--no-color", service]


def rm_argv(flavor: ComposeFlavor, project: str, files: tuple[str, ...], service: str,
            env_file: str = "") -> list[str]:
    return [*base_argv(flavor, project, files, env_file), "rm", "-s", "-f", service]


def down_argv(flavor: ComposeFlavor, project: str, files: tuple[str, ...], env_file: str = "") -> list[str]:
    return [*base_argv(flavor, project, files, env_file), "down"]


def override_yaml(service: str, image: str, base_file: str = "", labels: dict[str, str] | None = None) -> str:
    """An override file giving `service` the image lockstep built and lockstep's labels (JSON
    is YAML; labels merge with the service's own).

    Compose v1 refuses to merge files of different `version`s, so the base file's is copied."""
    svc: dict[str, object] = {}
    if image:
        svc["image"] = image
    if labels:
        svc["labels"] = dict(labels)
    doc: dict[str, object] = {"services": {service: svc}}
    if base_file:
        try:
            with open(base_file, encoding="utf-8", errors="replace") as f:
                m = _VERSION.search(f.read())
        except OSError:
            m = None
        if m:
            doc = {"version": m.group(1), **doc}
    return json.dumps(doc, indent=2) + "\n"


async def detect(cli: DockerCli) -> ComposeFlavor:
    """v2 when `docker compose` works, else v1; DockerError naming both when neither does."""
    for flavor, argv in ((ComposeFlavor.V2, ["docker", "compose", "version"]),
                         (ComposeFlavor.V1, ["docker-compose", "version"])):
        try:
            code, _ = await cli.run(argv, None)
        except DockerError:
            continue
        if code == 0:
            return flavor
    raise DockerError("Docker Compose not found: install the compose plugin (`docker compose`, v2) "
                      "or Debian's docker-compose (v1)")
