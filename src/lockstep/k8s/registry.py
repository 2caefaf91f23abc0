"""Where built images are pushed, and the names they get there (`default_registry`).

Tilt's renaming rules, which users' registries and scripts already rely on:
- an image goes under the registry host with its familiar name escaped into one path
  component (`/`, `:` and `@` become `_`): `gcr.io/team/api` pushed to `localhost:5000` is
  `localhost:5000/gcr.io_team_api`, and `app` is `localhost:5000/app`;
- a name already under the host is left alone (users sometimes write the registry into
  their refs), which also makes renaming idempotent;
- `single_name` (for registries such as ECR where every repository must be created up front)
  pushes every image to one repository, `HOST/SINGLE_NAME`, and moves the image's name into
  the tag: `app:tilt-1234` becomes `HOST/SINGLE_NAME:app-tilt-1234`;
- `host_from_cluster` is how the cluster's nodes reach the same registry: refs written into
  Kubernetes YAML use it instead of `host`.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from lockstep.model.resource import Settings
from lockstep.tiltfile.refs import try_ref

_ESCAPE = re.compile(r"[/:@]")


def escape_name(name: str) -> str:
    return _ESCAPE.sub("_", name)


@dataclass(frozen=True)
class Registry:
    host: str
    host_from_cluster: str = ""
    single_name: str = ""

    @property
    def in_cluster(self) -> str:
        return self.host_from_cluster or self.host

    def local_ref(self, ref: str) -> str:
        """The ref lockstep tags and pushes."""
        return rename(ref, self.host, self.single_name)

    def cluster_ref(self, ref: str) -> str:
        """The ref the cluster pulls (written into the YAML)."""
        local = self.local_ref(ref)
        if self.in_cluster == self.host:
            return local
        return self.in_cluster + local[len(self.host):]


def from_settings(settings: Settings) -> Registry | None:
    """The Tiltfile's default_registry(), if it called it."""
    if not settings.default_registry:
        return None
    return Registry(settings.default_registry, settings.registry_host_from_cluster, settings.registry_single_name)


def rename(ref: str, host: str, single_name: str = "") -> str:
    parsed = try_ref(ref)
    if parsed is None:
        return ref
    name = parsed.familiar_name
    host = host.rstrip("/")
    if name.startswith(host + "/"):
        return parsed.familiar
    if single_name:
        base = escape_name(posixpath.basename(name))
        tag = f"{base}-{parsed.tag}" if parsed.tag else base
        return f"{host}/{single_name}:{tag}"
    return f"{host}/{escape_name(name)}" + (f":{parsed.tag}" if parsed.tag else "")
