"""`uncategorized` goes first where it matters: it creates a resource's Namespace or CRD."""

from __future__ import annotations

from pathlib import Path

from lockstep.tiltfile import load

YAML = """
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: other}
spec:
  template:
    metadata: {labels: {app: other}}
    spec: {containers: [{name: other, image: nginx}]}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: gadget}
"""


def test_resources_in_its_namespace_or_of_its_kinds_wait_for_uncategorized(tmp_path: Path) -> None:
    (tmp_path / "all.yaml").write_text(YAML)
    (tmp_path / "Tiltfile").write_text("k8s_yaml('all.yaml')\nk8s_kind('Widget')\n")
    result = load(str(tmp_path / "Tiltfile"), [])
    assert result.ok, result.errors
    deps = {r.name: r.resource_deps for r in result.resources}
    assert deps == {"web": ("uncategorized",), "other": (), "gadget": ("uncategorized",), "uncategorized": ()}
