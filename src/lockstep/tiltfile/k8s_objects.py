"""Kubernetes YAML as data: objects, the images their pod templates use, selectors.

Pure functions (no evaluation state) so the assembly step and the builtins share them.
"""

from __future__ import annotations

import re
from typing import Any

from lockstep.model.resource import K8sObject
from lockstep.tiltfile.files import dump_yaml

# Kinds Tilt treats as workloads because they carry a pod template.
WORKLOAD_KINDS = frozenset({
    "deployment", "statefulset", "daemonset", "replicaset", "job", "cronjob", "pod",
    "replicationcontroller", "deploymentconfig",
})


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
    meta: dict[str, Any] = doc["metadata"] if isinstance(doc.get("metadata"), dict) else {}
    return K8sObject(
        kind=str(doc.get("kind", "")),
        name=str(meta.get("name", "") or meta.get("generateName", "")),
        namespace=str(meta.get("namespace", "") or ""),
        api_version=str(doc.get("apiVersion", "")),
        yaml=dump_yaml(doc),
    )


def container_images(doc: Any) -> list[str]:
    """Every `image` of every container list anywhere in the object (pod templates nest deeply)."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("containers", "initContainers", "ephemeralContainers") and isinstance(value, list):
                    for c in value:
                        if isinstance(c, dict) and isinstance(c.get("image"), str):
                            found.append(c["image"])
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(doc)
    return found


def json_path_values(doc: Any, path: str) -> list[str]:
    """A small JSONPath subset as Tilt's image_json_path uses it: {.a.b[*].c}, {.a[0].b}."""
    expr = path.strip().removeprefix("{").removesuffix("}").lstrip(".")
    nodes: list[Any] = [doc]
    for part in filter(None, re.split(r"\.(?![^\[]*\])", expr)):
        m = re.fullmatch(r"([^\[]*)((?:\[[^\]]*\])*)", part)
        if not m:
            return []
        key, indexes = m.group(1), re.findall(r"\[([^\]]*)\]", m.group(2))
        next_nodes: list[Any] = []
        for node in nodes:
            value = node.get(key) if key and isinstance(node, dict) else (node if not key else None)
            values = [value]
            for index in indexes:
                expanded: list[Any] = []
                for v in values:
                    if isinstance(v, list):
                        if index in ("*", ""):
                            expanded.extend(v)
                        elif index.lstrip("-").isdigit() and -len(v) <= int(index) < len(v):
                            expanded.append(v[int(index)])
                values = expanded
            next_nodes.extend(v for v in values if v is not None)
        nodes = next_nodes
    return [n for n in nodes if isinstance(n, str)]


def image_name(ref: str) -> str:
    """A reference without tag or digest, normalised the way registries resolve short names."""
    ref = ref.split("@", 1)[0]
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        ref = ref[: len(ref) - len(last)] + last.split(":", 1)[0]
    for prefix in ("docker.io/library/", "docker.io/", "index.docker.io/library/", "index.docker.io/"):
        if ref.startswith(prefix):
            ref = ref[len(prefix):]
            break
    if "/" not in ref:
        ref = "library/" + ref
    return ref


def refs_match(built: str, used: str) -> bool:
    return image_name(built) == image_name(used)


def selector_matches(selector: str, obj: K8sObject) -> bool:
    """Tilt's object selector: `name[:kind[:namespace]]`, case-insensitive."""
    parts = selector.split(":")
    name = parts[0]
    kind = parts[1] if len(parts) > 1 else ""
    namespace = parts[2] if len(parts) > 2 else ""
    if name.lower() != obj.name.lower():
        return False
    if kind and kind.lower() != obj.kind.lower():
        return False
    return not namespace or namespace.lower() == (obj.namespace or "default").lower()


def filter_match(doc: dict[str, Any], labels: dict[str, str] | None, patterns: dict[str, str]) -> bool:
    meta: dict[str, Any] = doc["metadata"] if isinstance(doc.get("metadata"), dict) else {}
    fields = {"name": meta.get("name", ""), "namespace": meta.get("namespace", "") or "default",
              "kind": doc.get("kind", ""), "api_version": doc.get("apiVersion", "")}
    for key, pattern in patterns.items():
        if not re.fullmatch(pattern, str(fields[key]), re.IGNORECASE):
            return False
    if labels:
        have: dict[str, Any] = meta["labels"] if isinstance(meta.get("labels"), dict) else {}
        return all(str(have.get(k)) == str(v) for k, v in labels.items())
    return True
