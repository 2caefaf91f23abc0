"""Port forwards resolved against a running pod, as Tilt resolves them.

`port_forwards=8000` names only the local port. At run time the container port is 8000 if a
container of the pod declares it, else the pod's first declared container port, else 8000.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from lockstep.model.resource import Link, PortForward
from lockstep.tiltfile.k8s_objects import containers


def url(pf: PortForward) -> str:
    """The URL a forward opens (Tilt shows one link per forward)."""
    host = "localhost" if pf.host in ("", "0.0.0.0", "127.0.0.1") else pf.host
    path = pf.link_path if pf.link_path.startswith("/") else "/" + pf.link_path
    return f"http://{host}:{pf.local_port}{path}"


def address(pf: PortForward) -> str:
    """`--address` for `kubectl port-forward`: Tilt binds to localhost unless told otherwise."""
    return pf.host or "127.0.0.1"


def declared_ports(pod: Mapping[str, Any]) -> list[int]:
    out: list[int] = []
    for c in containers(dict(pod)):
        ports = c.get("ports")
        for p in ports if isinstance(ports, list) else []:
            port = p.get("containerPort") if isinstance(p, dict) else None
            if isinstance(port, int) and port not in out:
                out.append(port)
    return out


def resolve(pf: PortForward, pod: Mapping[str, Any] | None) -> PortForward:
    """The forward with its container port known: an unresolved one takes it from the pod."""
    if not pf.unresolved:
        return pf
    ports = declared_ports(pod) if pod is not None else []
    return replace(pf, container_port=pf.local_port if (pf.local_port in ports or not ports) else ports[0])


def links(pfs: tuple[PortForward, ...], pod: Mapping[str, Any] | None = None) -> list[Link]:
    """The URLs the forwards open, for the dashboard (Tilt shows one link per forward)."""
    return [Link(url(f), f.name) for f in (resolve(pf, pod) for pf in pfs)]
