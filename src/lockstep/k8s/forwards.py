"""Port forwards resolved against a running pod, as Tilt resolves them.

`port_forwards=8000` names only the local port. At run time the container port is 8000 if a
container of the pod declares it, else the pod's first declared container port, else 8000.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lockstep.model.resource import Link, PortForward
from lockstep.tiltfile.k8s_objects import containers


@dataclass(frozen=True)
class Forward:
    local_port: int
    container_port: int
    host: str = "localhost"
    name: str = ""
    link_path: str = ""

    def url(self) -> str:
        host = "localhost" if self.host in ("", "0.0.0.0", "127.0.0.1") else self.host
        path = self.link_path if self.link_path.startswith("/") else "/" + self.link_path
        return f"http://{host}:{self.local_port}{path}"

    def link(self) -> Link:
        return Link(self.url(), self.name)

    def address(self) -> str:
        """`--address` for `kubectl port-forward`: Tilt binds to localhost unless told otherwise."""
        return self.host or "127.0.0.1"


def declared_ports(pod: Mapping[str, Any]) -> list[int]:
    out: list[int] = []
    for c in containers(dict(pod)):
        ports = c.get("ports")
        for p in ports if isinstance(ports, list) else []:
            port = p.get("containerPort") if isinstance(p, dict) else None
            if isinstance(port, int) and port not in out:
                out.append(port)
    return out


def resolve(pf: PortForward, pod: Mapping[str, Any] | None) -> Forward:
    container = pf.container_port
    if pf.unresolved:
        ports = declared_ports(pod) if pod is not None else []
        container = pf.local_port if (pf.local_port in ports or not ports) else ports[0]
    return Forward(pf.local_port, container, host=pf.host, name=pf.name, link_path=pf.link_path)


def links(pfs: tuple[PortForward, ...], pod: Mapping[str, Any] | None = None) -> list[Link]:
    """The URLs the forwards open, for the dashboard (Tilt shows one link per forward)."""
    return [resolve(pf, pod).link() for pf in pfs]
