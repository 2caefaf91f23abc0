"""Which cluster lockstep may deploy to, and how built images reach it.

Safety follows Tilt: a context whose cluster is a known local product (kind, k3d, minikube,
Docker Desktop, Rancher Desktop, MicroK8s, and the others Tilt lists) is allowed; any other
context must be named in allow_k8s_contexts(), else nothing is applied and the user is told
how to allow it. Image delivery follows Tilt too: a registry (default_registry() or the
cluster's `local-registry-hosting` ConfigMap) means push; a kind cluster without one means
`kind load docker-image`; clusters that share the local Docker daemon need nothing.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from lockstep.k8s.registry import Registry


class Product(enum.Enum):
    UNKNOWN = "unknown"
    GKE = "gke"
    MINIKUBE = "minikube"
    DOCKER_DESKTOP = "docker-desktop"
    MICROK8S = "microk8s"
    CRC = "crc"
    KRUCIBLE = "krucible"
    KIND = "kind"
    K3D = "k3d"
    RANCHER_DESKTOP = "rancher-desktop"
    COLIMA = "colima"

    @property
    def local(self) -> bool:
        return self not in (Product.UNKNOWN, Product.GKE)


# Prefixes of the kubeconfig *cluster* name each product writes, checked in this order.
_PREFIXES: tuple[tuple[str, Product], ...] = (
    ("minikube", Product.MINIKUBE), ("docker-for-desktop-cluster", Product.DOCKER_DESKTOP),
    ("docker-desktop", Product.DOCKER_DESKTOP), ("gke", Product.GKE), ("kind-", Product.KIND),
    ("microk8s-cluster", Product.MICROK8S), ("api-crc-testing", Product.CRC),
    ("krucible-", Product.KRUCIBLE), ("k3d-", Product.K3D), ("rancher-desktop", Product.RANCHER_DESKTOP),
    ("colima", Product.COLIMA),
)


def product(cluster: str) -> Product:
    if cluster == "kind":
        return Product.KIND
    for prefix, prod in _PREFIXES:
        if cluster.startswith(prefix):
            return prod
    return Product.UNKNOWN


@dataclass(frozen=True)
class Cluster:
    """The current kubeconfig context, as `kubectl config view --minify -o json` shows it."""

    context: str
    cluster: str = ""
    namespace: str = ""

    @property
    def product(self) -> Product:
        return product(self.cluster or self.context)

    @property
    def kind_name(self) -> str:
        """The name `kind load --name` wants: the cluster name without kind's `kind-` prefix."""
        name = self.cluster or self.context
        return "kind" if name == "kind" else name.removeprefix("kind-")


def cluster_from_config(view: dict[str, Any]) -> Cluster | None:
    current = str(view.get("current-context", "") or "")
    if not current:
        return None
    for entry in view.get("contexts") or []:
        if isinstance(entry, dict) and entry.get("name") == current:
            ctx = entry.get("context")
            ctx = ctx if isinstance(ctx, dict) else {}
            return Cluster(current, str(ctx.get("cluster", "") or ""), str(ctx.get("namespace", "") or ""))
    return Cluster(current)


def refusal(context: str) -> str:
    """Empty when allowed; else the message and the fix, in Tilt's words."""
    return (f"Stop! {context} might be production.\n"
            f"If you're sure you want to deploy there, add:\n"
            f"\tallow_k8s_contexts('{context}')\n"
            f"to your Tiltfile. Otherwise, switch k8s contexts and restart lockstep.")


def allowed(cluster: Cluster, allowed_contexts: tuple[str, ...]) -> bool:
    return cluster.product.local or cluster.context in allowed_contexts


class Delivery(enum.Enum):
    PUSH = "push"  # docker push to a registry the cluster pulls from
    KIND_LOAD = "kind-load"  # kind load docker-image into the nodes
    LOCAL_DAEMON = "local-daemon"  # the cluster runs on the Docker daemon that built the image
    PUSH_AS_IS = "push-as-is"  # a remote cluster without a registry setting: push the ref itself


def registry_from_configmap(data: dict[str, Any]) -> Registry | None:
    """The KEP-1755 `kube-public/local-registry-hosting` ConfigMap's `localRegistryHosting.v1`
    (already decoded from its YAML string)."""
    host = data.get("host")
    if not isinstance(host, str) or not host:
        return None
    in_cluster = data.get("hostFromContainerRuntime") or data.get("hostFromClusterNetwork") or ""
    return Registry(host, str(in_cluster))


@dataclass(frozen=True)
class Plan:
    delivery: Delivery
    registry: Registry | None = None
    kind_cluster: str = ""


def delivery(cluster: Cluster, default_registry: Registry | None, configmap: Registry | None) -> Plan:
    if default_registry is not None:
        return Plan(Delivery.PUSH, default_registry)
    if configmap is not None:
        return Plan(Delivery.PUSH, configmap)
    prod = cluster.product
    if prod is Product.KIND:
        return Plan(Delivery.KIND_LOAD, kind_cluster=cluster.kind_name)
    # These run pods on the Docker daemon images are built on (minikube: the one
    # `minikube docker-env` points at, which the user is expected to have set).
    if prod in (Product.DOCKER_DESKTOP, Product.RANCHER_DESKTOP, Product.MINIKUBE, Product.COLIMA):
        return Plan(Delivery.LOCAL_DAEMON)
    return Plan(Delivery.PUSH_AS_IS)


def deliver(built: str, plan: Plan, *, push: bool = True, local: bool = True) -> tuple[list[list[str]], str]:
    """The commands that get `built` to the cluster, and the ref the YAML must then name.

    `push=False` (custom_build's disable_push): the script pushes the image itself; only the
    ref is renamed. `local=False` (skips_local_docker): the image is not on the local engine,
    so nothing can be pushed or `kind load`ed from here either."""
    from lockstep.k8s import commands

    if plan.delivery is Delivery.KIND_LOAD:
        # Not a push: loading the local image into the nodes is what makes its ref usable
        # there, so disable_push does not skip it (Tilt skips it; the pet-store's kind target,
        # a custom_build that retags a loaded image, needs it).
        return ([commands.kind_load(plan.kind_cluster, built)] if local else []), built
    push = push and local
    if plan.delivery is Delivery.PUSH and plan.registry is not None:
        target = plan.registry.local_ref(built)
        final = plan.registry.cluster_ref(built)
        if not push:
            return [], final
        tag = [commands.docker_tag(built, target)] if target != built else []
        return [*tag, commands.docker_push(target)], final
    if plan.delivery is Delivery.PUSH_AS_IS:
        return ([commands.docker_push(built)] if push else []), built
    return [], built
