"""In which order objects are applied and deleted.

Apply: Tilt's (kustomize's) kind order, so a Namespace exists before what lives in it and a
CRD before its custom resources; unknown kinds keep their order after the known ones.
Delete (`lockstep down`): resources in reverse dependency order (dependents first), each
resource's objects in reverse apply order; objects annotated `tilt.dev/down-policy: keep` stay;
Namespaces stay unless asked for (`down --delete-namespaces`), and then only the Namespaces the
Tiltfile's own YAML declares, never one it merely deploys into.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

KIND_ORDER = ("Namespace", "StorageClass", "CustomResourceDefinition", "MutatingWebhookConfiguration",
              "ServiceAccount", "PodSecurityPolicy", "Role", "ClusterRole", "RoleBinding",
              "ClusterRoleBinding", "PersistentVolume", "PersistentVolumeClaim", "ConfigMap", "Secret",
              "Service", "LimitRange", "Deployment", "StatefulSet", "CronJob", "PodDisruptionBudget")
_RANK = {k: i for i, k in enumerate(KIND_ORDER)}
DOWN_POLICY = "tilt.dev/down-policy"


def apply_order(docs: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    indexed = list(enumerate(docs))
    indexed.sort(key=lambda pair: (_RANK.get(str(pair[1].get("kind", "")), len(_RANK)), pair[0]))
    return [d for _, d in indexed]


def _meta(doc: Mapping[str, Any]) -> dict[str, Any]:
    meta = doc.get("metadata")
    return meta if isinstance(meta, dict) else {}


def kept(doc: Mapping[str, Any]) -> bool:
    annotations = _meta(doc).get("annotations")
    return isinstance(annotations, dict) and str(annotations.get(DOWN_POLICY, "")).lower() == "keep"


@dataclass(frozen=True)
class DownPlan:
    delete: tuple[Mapping[str, Any], ...]
    kept: tuple[str, ...]  # "kind/name" of what stays, and why, for the log


def describe(doc: Mapping[str, Any]) -> str:
    ns = _meta(doc).get("namespace")
    return f"{doc.get('kind', '?')}/{_meta(doc).get('name', '?')}" + (f" (namespace {ns})" if ns else "")


def down_plan(resources: Sequence[Sequence[Mapping[str, Any]]], *, delete_namespaces: bool = False) -> DownPlan:
    """`resources` in dependency order (upstreams first), each its objects as deployed."""
    delete: list[Mapping[str, Any]] = []
    stays: list[str] = []
    for docs in reversed(resources):
        for doc in reversed(apply_order(docs)):
            if kept(doc):
                stays.append(f"{describe(doc)}: annotated {DOWN_POLICY}: keep")
            elif doc.get("kind") == "Namespace" and not delete_namespaces:
                stays.append(f"{describe(doc)}: namespaces are kept (down --delete-namespaces deletes them)")
            else:
                delete.append(doc)
    return DownPlan(tuple(delete), tuple(stays))


def provided(docs: Sequence[Mapping[str, Any]]) -> tuple[set[str], set[str]]:
    """Namespaces and custom kinds (CRDs) that these objects create."""
    namespaces: set[str] = set()
    kinds: set[str] = set()
    for doc in docs:
        name = str(_meta(doc).get("name", ""))
        if doc.get("kind") == "Namespace" and name:
            namespaces.add(name)
        elif doc.get("kind") == "CustomResourceDefinition":
            spec = doc.get("spec")
            names = spec.get("names") if isinstance(spec, dict) else None
            kind = names.get("kind") if isinstance(names, dict) else None
            if isinstance(kind, str) and kind:
                kinds.add(kind)
    return namespaces, kinds


def needs(objects: Sequence[tuple[str, str]], namespaces: set[str], kinds: set[str]) -> bool:
    """Whether objects given as (kind, namespace) live in one of `namespaces` or are one of `kinds`."""
    return any(ns in namespaces or kind in kinds for kind, ns in objects)
