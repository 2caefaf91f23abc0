"""Image injection on real YAML: pod specs, env vars, CRDs through JSONPath locators."""

from __future__ import annotations

import yaml

from lockstep.k8s.inject import BuiltImage, Locator, inject

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      initContainers:
        - name: migrate
          image: web:latest
      containers:
        - name: web
          image: web
          imagePullPolicy: Always
          env:
            - {name: WORKER_IMAGE, value: "registry.example.com/team/worker:v1"}
            - {name: OTHER, value: "web"}
        - name: sidecar
          image: envoyproxy/envoy:v1.30
"""

CRD_OBJECT = """
apiVersion: example.com/v1
kind: Environment
metadata: {name: dev}
spec:
  runtime:
    image: web:v2
  steps:
    - {name: a, image: web}
    - {name: b, image: busybox}
  model: {repository: worker, tag: old}
"""


def test_containers_and_init_containers_get_the_built_ref_and_pull_policy() -> None:
    doc = yaml.safe_load(DEPLOYMENT)
    out, hits = inject(doc, [BuiltImage("web", "web:tilt-abc123")])
    spec = out["spec"]["template"]["spec"]
    assert spec["initContainers"][0]["image"] == "web:tilt-abc123"
    assert spec["containers"][0]["image"] == "web:tilt-abc123"
    assert spec["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert spec["containers"][1]["image"] == "envoyproxy/envoy:v1.30"
    assert "imagePullPolicy" not in spec["containers"][1]
    assert hits == ["web:tilt-abc123", "web:tilt-abc123"]
    # The input is not changed: the loaded YAML stays what the Tiltfile said.
    assert doc["spec"]["template"]["spec"]["containers"][0]["image"] == "web"


def test_never_pull_policy_is_kept() -> None:
    doc = yaml.safe_load(DEPLOYMENT)
    doc["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = "Never"
    out, _ = inject(doc, [BuiltImage("web", "web:tilt-1")])
    assert out["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == "Never"


def test_a_tagged_build_matches_only_its_tag() -> None:
    doc = yaml.safe_load(DEPLOYMENT)
    out, hits = inject(doc, [BuiltImage("web:latest", "web:tilt-9")])
    spec = out["spec"]["template"]["spec"]
    assert spec["initContainers"][0]["image"] == "web:tilt-9"
    assert spec["containers"][0]["image"] == "web"
    assert hits == ["web:tilt-9"]


def test_env_values_only_with_match_in_env_vars() -> None:
    doc = yaml.safe_load(DEPLOYMENT)
    worker = "registry.example.com/team/worker"
    out, _ = inject(doc, [BuiltImage(worker, worker + ":tilt-5")])
    env = out["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env[0]["value"] == worker + ":v1"
    out, _ = inject(doc, [BuiltImage(worker, worker + ":tilt-5", match_in_env_vars=True),
                          BuiltImage("web", "web:tilt-6")])
    env = out["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env[0]["value"] == worker + ":tilt-5"
    # `web` is a valid ref but that image did not ask for env matching.
    assert env[1]["value"] == "web"


def test_crd_fields_named_by_json_path() -> None:
    doc = yaml.safe_load(CRD_OBJECT)
    out, hits = inject(doc, [BuiltImage("web", "web:tilt-7")],
                       [Locator("{.spec.runtime.image}"), Locator("{.spec.steps[*].image}")])
    assert out["spec"]["runtime"]["image"] == "web:tilt-7"
    assert [s["image"] for s in out["spec"]["steps"]] == ["web:tilt-7", "busybox"]
    assert out["spec"]["steps"][0]["name"] == "a"  # a leaf not selected keeps its value
    assert len(hits) == 2


def test_crd_filter_path_and_image_object() -> None:
    doc = yaml.safe_load(CRD_OBJECT)
    out, _ = inject(doc, [BuiltImage("web", "web:tilt-8")], [Locator("{.spec.steps[?(@.name=='b')].image}")])
    assert out["spec"]["steps"][0]["image"] == "web"  # filtered out
    out, hits = inject(doc, [BuiltImage("worker", "localhost:5000/worker:tilt-2")],
                       [Locator("{.spec.model}", "repository", "tag")])
    assert out["spec"]["model"] == {"repository": "localhost:5000/worker", "tag": "tilt-2"}
    assert hits == ["localhost:5000/worker:tilt-2"]


def test_crd_without_locator_is_untouched() -> None:
    doc = yaml.safe_load(CRD_OBJECT)
    out, hits = inject(doc, [BuiltImage("web", "web:tilt-7")])
    assert out == doc and hits == []


def test_entrypoint_and_container_args_override_command_and_args() -> None:
    doc = yaml.safe_load(DEPLOYMENT)
    doc["spec"]["template"]["spec"]["containers"][0]["args"] = ["--old"]
    out, _ = inject(doc, [BuiltImage("web", "web:tilt-1", command=("/bin/sh", "-c"), args=("serve",))])
    spec = out["spec"]["template"]["spec"]
    web, sidecar = spec["containers"]
    assert (web["command"], web["args"]) == (["/bin/sh", "-c"], ["serve"])
    assert spec["initContainers"][0]["command"] == ["/bin/sh", "-c"]
    assert "command" not in sidecar and "args" not in sidecar
    # Not given: the YAML's own args stay.
    out, _ = inject(doc, [BuiltImage("web", "web:tilt-1")])
    assert out["spec"]["template"]["spec"]["containers"][0]["args"] == ["--old"]
    assert "command" not in out["spec"]["template"]["spec"]["containers"][0]
