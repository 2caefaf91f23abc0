"""Pods, Jobs and events in the shape of the Kubernetes API reference (v1 Pod, batch/v1 Job,
v1 Event), as `kubectl get -o json` prints them."""

from __future__ import annotations

from typing import Any


def container_status(name: str, *, ready: bool = True, image: str = "web:tilt-1", restarts: int = 0,
                     state: dict[str, Any] | None = None, last: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": name, "image": image, "imageID": "", "ready": ready, "started": ready,
        "restartCount": restarts,
        "state": state if state is not None else {"running": {"startedAt": "2026-11-30T10:00:00Z"}},
        "lastState": last or {},
    }


def pod(name: str, *, phase: str = "Running", statuses: list[dict[str, Any]] | None = None,
        labels: dict[str, str] | None = None, ports: list[int] = (8080,),  # type: ignore[assignment]
        namespace: str = "default", deleting: bool = False,
        conditions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "uid": f"uid-{name}",
                            "labels": labels or {"app": "web"}, "resourceVersion": "1"}
    if deleting:
        meta["deletionTimestamp"] = "2026-11-30T10:05:00Z"
    return {
        "apiVersion": "v1", "kind": "Pod", "metadata": meta,
        "spec": {"containers": [{"name": "web", "image": "web:tilt-1",
                                 "ports": [{"containerPort": p, "protocol": "TCP"} for p in ports]}]},
        "status": {"phase": phase, "conditions": conditions or [],
                   "containerStatuses": statuses if statuses is not None else [container_status("web")]},
    }


def job(name: str, condition: str = "", reason: str = "") -> dict[str, Any]:
    conds = [{"type": condition, "status": "True", "reason": reason, "message": ""}] if condition else []
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": "default"},
            "status": {"conditions": conds, "active": 0 if condition else 1}}


def event(kind: str, name: str, reason: str, message: str, *, type_: str = "Warning", count: int = 1) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Event", "metadata": {"name": f"{name}.1", "namespace": "default"},
            "involvedObject": {"kind": kind, "name": name, "namespace": "default"},
            "reason": reason, "message": message, "type": type_, "count": count}
