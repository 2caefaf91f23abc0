"""Port-forward resolution, context safety, image delivery, apply/delete order, kubectl lines."""

from __future__ import annotations

import pytest
import yaml
from podjson import pod

from lockstep.k8s import commands
from lockstep.k8s.context import (
    Cluster,
    Delivery,
    Product,
    Registry,
    allowed,
    cluster_from_config,
    deliver,
    delivery,
    product,
    refusal,
    registry_from_configmap,
)
from lockstep.k8s.forwards import address, links, resolve, url
from lockstep.k8s.ordering import apply_order, down_plan
from lockstep.model.resource import PortForward


@pytest.mark.parametrize(("pf", "ports", "want"), [
    (PortForward(8080, 0), [8080], 8080),  # declared: the same port
    (PortForward(9000, 0), [8080, 9090], 8080),  # not declared: the first declared port
    (PortForward(9000, 0), [], 9000),  # nothing declared: the same port
    (PortForward(9000, 80), [8080], 80),  # explicit container port wins
])
def test_bare_port_forward_resolution(pf: PortForward, ports: list[int], want: int) -> None:
    assert resolve(pf, pod("web-1", ports=ports)).container_port == want


def test_forward_links_and_address() -> None:
    f = resolve(PortForward(8080, 0, name="app", link_path="docs"), pod("p"))
    assert url(f) == "http://localhost:8080/docs" and links((f,))[0].name == "app"
    assert address(f) == "127.0.0.1"
    assert address(resolve(PortForward(8080, 80, host="0.0.0.0"), None)) == "0.0.0.0"


@pytest.mark.parametrize(("cluster", "want"), [
    ("kind-kind", Product.KIND), ("kind", Product.KIND), ("kind-petstore", Product.KIND),
    ("k3d-dev", Product.K3D), ("minikube", Product.MINIKUBE), ("docker-desktop", Product.DOCKER_DESKTOP),
    ("docker-for-desktop-cluster", Product.DOCKER_DESKTOP), ("rancher-desktop", Product.RANCHER_DESKTOP),
    ("microk8s-cluster", Product.MICROK8S), ("gke_proj_us-central1_prod", Product.GKE),
    ("arn:aws:eks:us-east-1:1:cluster/prod", Product.UNKNOWN), ("kindly-prod", Product.UNKNOWN),
])
def test_local_cluster_detection(cluster: str, want: Product) -> None:
    assert product(cluster) is want


def test_context_safety_and_tilts_message() -> None:
    assert allowed(Cluster("kind-kind", "kind-kind"), ())
    prod = Cluster("prod-admin", "eks-prod")
    assert not allowed(prod, ())
    assert allowed(prod, ("prod-admin",))
    assert refusal("prod-admin") == (
        "Stop! prod-admin might be production.\nIf you're sure you want to deploy there, add:\n"
        "\tallow_k8s_contexts('prod-admin')\nto your Tiltfile. Otherwise, switch k8s contexts and restart lockstep.")


def test_cluster_from_kubectl_config_view() -> None:
    view = {"current-context": "kind-petstore",
            "contexts": [{"name": "kind-petstore", "context": {"cluster": "kind-petstore", "user": "u"}}]}
    c = cluster_from_config(view)
    assert c == Cluster("kind-petstore", "kind-petstore") and c.kind_name == "petstore"
    assert cluster_from_config({"current-context": ""}) is None


def test_image_delivery_decisions() -> None:
    kind = Cluster("kind-kind", "kind-kind")
    plan = delivery(kind, None, None)
    assert plan.delivery is Delivery.KIND_LOAD and plan.kind_cluster == "kind"
    assert deliver("petstore:tilt-1", plan) == ([["kind", "load", "docker-image", "petstore:tilt-1",
                                                  "--name", "kind"]], "petstore:tilt-1")
    hosted = registry_from_configmap(yaml.safe_load(
        'host: "localhost:5001"\nhostFromContainerRuntime: "kind-registry:5000"\nhelp: "https://kind.sigs.k8s.io"'))
    assert hosted == Registry("localhost:5001", "kind-registry:5000")
    plan = delivery(kind, None, hosted)
    assert plan.delivery is Delivery.PUSH
    assert deliver("petstore:tilt-1", plan) == (
        [["docker", "tag", "petstore:tilt-1", "localhost:5001/petstore:tilt-1"],
         ["docker", "push", "localhost:5001/petstore:tilt-1"]], "kind-registry:5000/petstore:tilt-1")
    # default_registry wins over the ConfigMap.
    assert delivery(kind, Registry("gcr.io/team"), hosted).registry == Registry("gcr.io/team")
    assert delivery(Cluster("docker-desktop", "docker-desktop"), None, None).delivery is Delivery.LOCAL_DAEMON
    assert delivery(Cluster("prod", "eks"), None, None).delivery is Delivery.PUSH_AS_IS
    # A custom_build that pushes itself: nothing is run, the ref is still renamed for the YAML.
    assert deliver("petstore:tilt-1", delivery(kind, None, hosted), push=False) == (
        [], "kind-registry:5000/petstore:tilt-1")
    # kind load is no push: disable_push keeps it; an image that is not on the local engine skips it.
    load = [["kind", "load", "docker-image", "petstore:tilt-1", "--name", "kind"]]
    assert deliver("petstore:tilt-1", delivery(kind, None, None), push=False) == (load, "petstore:tilt-1")
    assert deliver("petstore:tilt-1", delivery(kind, None, None), push=False, local=False) == (
        [], "petstore:tilt-1")
    assert deliver("a:1", delivery(Cluster("prod", "eks"), None, None), push=False) == ([], "a:1")


OBJECTS = yaml.safe_load_all("""
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop, annotations: {tilt.dev/down-policy: keep}}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
""")


def test_apply_order_is_kind_order_then_given_order() -> None:
    docs = list(OBJECTS)
    assert [d["kind"] for d in apply_order(docs)] == \
        ["Namespace", "CustomResourceDefinition", "ConfigMap", "Service", "Deployment", "Widget"]


def test_down_plan_reverse_dependency_order_keep_and_namespaces() -> None:
    docs = list(yaml.safe_load_all("""
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop, annotations: {tilt.dev/down-policy: keep}}
---
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: shop}
"""))
    db = list(yaml.safe_load_all("""
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop}
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: shop}
"""))
    web = [{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"}}]
    plan = down_plan([docs, db, web])
    assert [(d["kind"], d["metadata"]["name"]) for d in plan.delete] == [
        ("Deployment", "web"), ("StatefulSet", "db"), ("Service", "db"), ("Secret", "creds")]
    assert plan.kept == ("ConfigMap/settings (namespace shop): annotated tilt.dev/down-policy: keep",
                         "Namespace/shop: namespaces are kept (down --delete-namespaces deletes them)")
    assert [d["kind"] for d in down_plan([docs], delete_namespaces=True).delete] == ["Secret", "Namespace"]


def test_kubectl_command_lines() -> None:
    assert commands.apply("kind-kind") == ["kubectl", "--context", "kind-kind", "apply", "-o", "json", "-f", "-"]
    assert commands.replace_force("") == ["kubectl", "replace", "--force", "-o", "json", "-f", "-"]
    assert commands.delete("c") == ["kubectl", "--context", "c", "delete", "--ignore-not-found", "-f", "-"]
    assert commands.port_forward("c", "shop", "web-1", 8080, 80, "127.0.0.1") == [
        "kubectl", "--context", "c", "port-forward", "--namespace", "shop", "--address", "127.0.0.1",
        "pod/web-1", "8080:80"]
    assert commands.immutable_error('The Job "m" is invalid: spec.template: Invalid value: ...: field is immutable')
    assert not commands.immutable_error("error: the server doesn't have a resource type")
    assert commands.label_value("petstore:deployment:shop") == "petstore_deployment_shop"


def test_labels_go_on_object_and_pod_template_not_selector() -> None:
    doc = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
           "spec": {"selector": {"matchLabels": {"app": "web"}},
                    "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": []}}}}
    out = commands.label_object(doc, "web")
    assert out["metadata"]["labels"][commands.RESOURCE_LABEL] == "web"
    labels = out["spec"]["template"]["metadata"]["labels"]
    assert labels.pop(commands.TEMPLATE_HASH_LABEL)
    assert labels == {"app": "web", commands.RESOURCE_LABEL: "web", "app.kubernetes.io/managed-by": "lockstep"}
    assert out["spec"]["selector"] == {"matchLabels": {"app": "web"}}
    assert "labels" not in doc["metadata"]


def test_pod_template_hash_tells_this_deploys_pods_from_older_ones() -> None:
    def deployment(image: str) -> dict[str, object]:
        return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                "spec": {"template": {"metadata": {"labels": {"app": "web"}},
                                      "spec": {"containers": [{"name": "web", "image": image}]}}}}

    v1 = commands.label_object(deployment("web:tilt-1"), "web")
    v2 = commands.label_object(deployment("web:tilt-2"), "web")
    h1, h2 = commands.template_hashes(v1), commands.template_hashes(v2)
    assert len(h1) == 1 and h1 != h2
    assert commands.template_hashes(commands.label_object(deployment("web:tilt-1"), "web")) == h1  # stable
    old_pod = pod("web-1", labels={"app": "web", commands.TEMPLATE_HASH_LABEL: h1[0]})
    new_pod = pod("web-2", labels={"app": "web", commands.TEMPLATE_HASH_LABEL: h2[0]})
    assert commands.outdated(old_pod, frozenset(h2)) and not commands.outdated(new_pod, frozenset(h2))
    assert not commands.outdated(pod("other"), frozenset(h2))  # not labelled by lockstep: kept
