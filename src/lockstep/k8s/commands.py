"""The kubectl (and kind/docker) command lines lockstep runs, built in one place.

Apply is client-side `kubectl apply` (the last-applied-configuration annotation), as Tilt
does: a field removed from the YAML is removed from the object, and objects created by hand
with `kubectl apply` keep working. Objects Kubernetes will not update in place (Jobs and
Pods: their pod spec is immutable) are `replace --force`d, and an apply refused for an
immutable field falls back to delete + apply, both as Tilt does. See docs/engine.md.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

RESOURCE_LABEL = "lockstep.dev/resource"
# A digest of the pod template as applied: pods of an older template (a rollout in progress)
# are not this update's pods and do not make the resource ready (Tilt labels pods the same way).
TEMPLATE_HASH_LABEL = "lockstep.dev/pod-template-hash"
MANAGED_BY = ("app.kubernetes.io/managed-by", "lockstep")
# Kinds whose spec cannot change after creation: re-deploying means replacing them.
IMMUTABLE_KINDS = frozenset({"Job", "Pod"})
_IMMUTABLE_ERR = re.compile(r"field is immutable|Forbidden: updates to .* are forbidden|"
                            r"spec: Forbidden: pod updates may not change fields", re.IGNORECASE)


def kubectl(context: str, *args: str) -> list[str]:
    base = ["kubectl"]
    if context:
        base += ["--context", context]
    return base + list(args)


def apply(context: str) -> list[str]:
    return kubectl(context, "apply", "-o", "json", "-f", "-")


def server_side_apply(context: str) -> list[str]:
    return kubectl(context, "apply", "--server-side", "--force-conflicts", "--field-manager=lockstep",
                   "-o", "json", "-f", "-")


# kubectl's limit on the last-applied-configuration annotation (all annotations: 256 KiB).
ANNOTATION_LIMIT = 262144


def apply_argv(context: str, mode: str, size: int) -> list[str]:
    """update_settings(k8s_server_side_apply=): "true" always server-side; otherwise client-side,
    except (unless "false") an object too big for the last-applied annotation, which
    client-side apply would refuse."""
    if mode == "true" or (mode != "false" and size >= ANNOTATION_LIMIT):
        return server_side_apply(context)
    return apply(context)


def replace_force(context: str) -> list[str]:
    return kubectl(context, "replace", "--force", "-o", "json", "-f", "-")


def delete(context: str) -> list[str]:
    return kubectl(context, "delete", "--ignore-not-found", "-f", "-")


def immutable_error(stderr: str) -> bool:
    return bool(_IMMUTABLE_ERR.search(stderr))


def label_value(resource: str) -> str:
    """A resource name as a label value (63 characters of [A-Za-z0-9-_.], alphanumeric ends)."""
    text = re.sub(r"[^A-Za-z0-9_.-]", "_", resource)[:63]
    return text.strip("_.-") or "resource"


def watch_pods(context: str, namespace: str, selector: str) -> list[str]:
    return kubectl(context, "get", "pods", "--namespace", namespace or "default", "--selector", selector,
                   "--watch", "--output-watch-events", "-o", "json")


def watch_jobs(context: str, namespace: str, selector: str) -> list[str]:
    return kubectl(context, "get", "jobs", "--namespace", namespace or "default", "--selector", selector,
                   "--watch", "--output-watch-events", "-o", "json")


def watch_events(context: str, namespace: str) -> list[str]:
    return kubectl(context, "get", "events", "--namespace", namespace or "default",
                   "--field-selector", "type=Warning", "--watch", "--output-watch-events", "-o", "json")


def logs(context: str, namespace: str, pod: str, container: str) -> list[str]:
    return kubectl(context, "logs", "--namespace", namespace or "default", "--follow", f"pod/{pod}",
                   "--container", container)


def port_forward(context: str, namespace: str, pod: str, local: int, remote: int, address: str) -> list[str]:
    return kubectl(context, "port-forward", "--namespace", namespace or "default", "--address", address,
                   f"pod/{pod}", f"{local}:{remote}")


def config_view() -> list[str]:
    return ["kubectl", "config", "view", "--minify", "-o", "json"]


def local_registry_configmap(context: str) -> list[str]:
    return kubectl(context, "get", "configmap", "local-registry-hosting", "--namespace", "kube-public",
                   "-o", "json", "--ignore-not-found")


def kind_load(cluster: str, ref: str) -> list[str]:
    return ["kind", "load", "docker-image", ref, "--name", cluster]


def docker_tag(source: str, target: str) -> list[str]:
    return ["docker", "tag", source, target]


def docker_push(ref: str) -> list[str]:
    return ["docker", "push", ref]


def label_object(doc: Mapping[str, Any], resource: str) -> dict[str, Any]:
    """`doc` with lockstep's labels on the object and on its pod template(s), so the runtime
    finds exactly this resource's pods. Selectors are left alone: they are immutable."""
    from lockstep.tiltfile.k8s_objects import pod_templates

    out = copy.deepcopy(dict(doc))
    value = label_value(resource)
    for template in pod_templates(out):
        digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:16]
        meta = template.get("metadata")
        meta = dict(meta) if isinstance(meta, dict) else {}
        meta["labels"] = {**(meta.get("labels") or {}), TEMPLATE_HASH_LABEL: digest}
        template["metadata"] = meta
    for target in [out, *pod_templates(out)]:
        meta = target.get("metadata")
        meta = dict(meta) if isinstance(meta, dict) else {}
        labels = meta.get("labels")
        labels = dict(labels) if isinstance(labels, dict) else {}
        labels[RESOURCE_LABEL] = value
        labels[MANAGED_BY[0]] = MANAGED_BY[1]
        meta["labels"] = labels
        target["metadata"] = meta
    return out


def template_hashes(doc: Mapping[str, Any]) -> list[str]:
    from lockstep.tiltfile.k8s_objects import pod_templates

    out = []
    for template in pod_templates(dict(doc)):
        labels = (template.get("metadata") or {}).get("labels") or {}
        if TEMPLATE_HASH_LABEL in labels:
            out.append(str(labels[TEMPLATE_HASH_LABEL]))
    return out


def outdated(pod: Mapping[str, Any], hashes: frozenset[str]) -> bool:
    """A pod of an older pod template than the ones just applied (a rollout in progress)."""
    meta = pod.get("metadata")
    labels = meta.get("labels") if isinstance(meta, dict) else None
    digest = labels.get(TEMPLATE_HASH_LABEL) if isinstance(labels, dict) else None
    return bool(digest) and bool(hashes) and digest not in hashes
