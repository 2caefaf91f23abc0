"""Kubernetes YAML as data: objects, the images their pods use, pod templates, selectors.

Pure functions (no evaluation state) so the assembly step and the builtins share them.
Containers are looked for only where Kubernetes' own types put them (a Deployment's pod
template, a Pod's spec...), as Tilt does: a custom resource's images are found through
k8s_kind(image_json_path=...) instead.
"""

from __future__ import annotations

import re
from typing import Any

from lockstep.model.resource import K8sObject
from lockstep.tiltfile.files import dump_yaml

# Built-in kinds with a pod template, and where it is.
_TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    "deployment": ("spec", "template"), "statefulset": ("spec", "template"),
    "daemonset": ("spec", "template"), "replicaset": ("spec", "template"),
    "replicationcontroller": ("spec", "template"), "job": ("spec", "template"),
    "cronjob": ("spec", "jobTemplate", "spec", "template"), "podtemplate": ("template",),
}
_BUILTIN_GROUPS = {"", "core", "apps", "batch", "extensions"}


def flatten(docs: list[Any]) -> list[dict[str, Any]]:
    """YAML documents as objects; `kind: List` documents expand into their items."""
    out: list[dict[str, Any]] = []
    for doc in docs:
        if not isinstance(doc, dict):
            continue
        if str(doc.get("kind", "")).endswith("List") and isinstance(doc.get("items"), list):
            out.extend(flatten(doc["items"]))
        elif doc:
            out.append(doc)
    return out


def to_object(doc: dict[str, Any]) -> K8sObject:
    meta = _dict(doc.get("metadata"))
    return K8sObject(
        kind=str(doc.get("kind", "")),
        name=str(meta.get("name", "") or meta.get("generateName", "")),
        namespace=str(meta.get("namespace", "") or ""),
        api_version=str(doc.get("apiVersion", "")),
        yaml=dump_yaml(doc),
    )


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def group_of(api_version: str) -> str:
    return api_version.split("/")[0] if "/" in api_version else ""


def _builtin(doc: dict[str, Any]) -> bool:
    return group_of(str(doc.get("apiVersion", ""))) in _BUILTIN_GROUPS


def pod_templates(doc: dict[str, Any]) -> list[dict[str, Any]]:
    path = _TEMPLATE_PATHS.get(str(doc.get("kind", "")).lower())
    if path is None or not _builtin(doc):
        return []
    node: Any = doc
    for key in path:
        node = _dict(node).get(key)
    # A typed object always has its template, even when the YAML leaves it out.
    return [_dict(node)]


def pod_specs(doc: dict[str, Any]) -> list[dict[str, Any]]:
    if str(doc.get("kind", "")).lower() == "pod" and _builtin(doc):
        return [_dict(doc.get("spec"))]
    return [_dict(t.get("spec")) for t in pod_templates(doc)]


def containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for spec in pod_specs(doc):
        for key in ("initContainers", "containers", "ephemeralContainers"):
            items = spec.get(key)
            if isinstance(items, list):
                out.extend(c for c in items if isinstance(c, dict))
    return out


def container_images(doc: dict[str, Any]) -> list[str]:
    """Images of the object's containers, then image volumes (Kubernetes' own fields only)."""
    found = [str(c["image"]) for c in containers(doc) if isinstance(c.get("image"), str)]
    for spec in pod_specs(doc):
        volumes = spec.get("volumes")
        for v in volumes if isinstance(volumes, list) else []:
            reference = _dict(_dict(v).get("image")).get("reference")
            if isinstance(reference, str) and reference:
                found.append(reference)
    return found


def env_values(doc: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for c in containers(doc):
        env = c.get("env")
        for e in env if isinstance(env, list) else []:
            value = _dict(e).get("value")
            if isinstance(value, str) and value:
                out.append(value)
    return out


def template_labels(doc: dict[str, Any]) -> list[dict[str, str]]:
    return [{str(k): str(v) for k, v in _dict(_dict(t.get("metadata")).get("labels")).items()}
            for t in pod_templates(doc)]


def service_selector(doc: dict[str, Any]) -> dict[str, str]:
    """A Service's pod selector (empty for anything else, or a Service without one)."""
    if str(doc.get("kind", "")) != "Service" or not _builtin(doc):
        return {}
    return {str(k): str(v) for k, v in _dict(_dict(doc.get("spec")).get("selector")).items()}


# Object selectors: `name[:kind[:namespace]]`, `\` escapes a colon or a backslash.

def split_selector(text: str) -> list[str]:
    parts, current, i = [], "", 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            current += text[i + 1]
            i += 2
            continue
        if c == ":":
            parts.append(current)
            current = ""
        else:
            current += c
        i += 1
    parts.append(current)
    return parts


def join_selector(parts: list[str]) -> str:
    return ":".join(p.replace("\\", "\\\\").replace(":", "\\:") for p in parts)


def fragments(obj: K8sObject) -> list[str]:
    """Every selector naming `obj`, shortest first, lower-cased (Tilt's potential names)."""
    components = [obj.name, obj.kind, obj.namespace or "default", group_of(obj.api_version) or "core"]
    return [join_selector(components[: i + 1]).lower() for i in range(len(components))]


def full_name(obj: K8sObject) -> str:
    return join_selector([obj.name, obj.kind, obj.namespace or "default"])


def selector_matches(selector: str, obj: K8sObject) -> bool:
    """Tilt's object selector: `name[:kind[:namespace]]`, case-insensitive, exact fields."""
    parts = split_selector(selector)
    want = [obj.name, obj.kind, obj.namespace or "default"]
    return all(p.lower() == w.lower() for p, w in zip(parts, want, strict=False) if p)


def filter_match(doc: dict[str, Any], labels: dict[str, str] | None, patterns: dict[str, str]) -> bool:
    meta = _dict(doc.get("metadata"))
    fields = {"name": meta.get("name", ""), "namespace": meta.get("namespace", "") or "default",
              "kind": doc.get("kind", ""), "api_version": doc.get("apiVersion", "")}
    for key, pattern in patterns.items():
        if not re.search(pattern, str(fields[key]), re.IGNORECASE):
            return False
    if labels:
        have = _dict(meta.get("labels"))
        return all(str(have.get(k)) == str(v) for k, v in labels.items())
    return True
