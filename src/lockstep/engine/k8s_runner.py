"""Updates of Kubernetes resources: check the context, build and deliver images, apply.

One update of a k8s resource:
1. reads the current context (`kubectl config view --minify`) and refuses one that is not a
   local cluster unless allow_k8s_contexts() names it (Tilt's rule and message);
2. builds the resource's images (the image step), and delivers each to the cluster: pushed to
   a registry (default_registry() or the cluster's local-registry ConfigMap), `kind load`ed
   into a kind cluster, or nothing for a cluster on the local Docker daemon;
3. injects the delivered refs into the YAML, labels every object and pod template with the
   resource, and applies: `kubectl apply` (client-side, last-applied annotation), Jobs and
   Pods `replace --force`d, an immutable-field refusal retried as delete + apply;
   k8s_custom_deploy runs its apply_cmd with TILT_IMAGE_<i> set, as Tilt does.
What was applied is recorded in `Deployments` for the runtime controller (`k8s_runtime`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml

from lockstep.adapters.kubectl import TIMED_OUT, Cli, LogFn, Result, ToolMissing, require
from lockstep.adapters.process import Stream
from lockstep.engine.image_match import images_named
from lockstep.engine.image_step import ImageStep
from lockstep.engine.runners import Outcome, UpdateJob
from lockstep.k8s import commands
from lockstep.k8s.context import (
    Cluster,
    Delivery,
    Plan,
    allowed,
    cluster_from_config,
    deliver,
    delivery,
    refusal,
    registry_from_configmap,
)
from lockstep.k8s.inject import BuiltImage, Locator, inject, refs_used
from lockstep.k8s.ordering import apply_order, describe
from lockstep.k8s.registry import from_settings
from lockstep.model.resource import DiscoveryStrategy, Resource, Settings
from lockstep.model.update import Outputs
from lockstep.tiltfile.k8s_objects import flatten, pod_templates, template_labels

if TYPE_CHECKING:
    from lockstep.engine.live_k8s import K8sLive


class NoImageBuilds:
    """For an engine without an image builder: a resource that needs one fails clearly."""

    async def build(self, resource: Resource, log: LogFn) -> dict[str, str]:
        if resource.images:
            raise K8sError(f"images {', '.join(i.ref for i in resource.images)} must be built first, "
                           "and this lockstep has no image builder configured")
        return {}


class K8sError(Exception):
    pass


@dataclass(frozen=True)
class Deployed:
    """What the runtime controller watches for one resource."""

    context: str
    # (namespace, label selector) pairs whose pods belong to the resource.
    pod_selectors: tuple[tuple[str, str], ...] = ()
    jobs: tuple[tuple[str, str], ...] = ()  # (namespace, name)
    objects: tuple[str, ...] = ()  # kind/namespace/name
    # What identifies each applied object for a delete: (apiVersion, kind, namespace, name).
    idents: tuple[tuple[str, str, str, str], ...] = ()
    # Pod-template digests of this apply: pods labelled with another one are outdated.
    template_hashes: frozenset[str] = frozenset()
    # k8s_custom_deploy: how it is undone (withdrawn resources run it instead of kubectl delete).
    delete_cmd: tuple[str, ...] = ()
    delete_dir: str = ""
    delete_env: tuple[tuple[str, str], ...] = ()


# In the state dir while anything is deployed: `down` evaluates the Tiltfile to delete
# Kubernetes objects only when this says there may be some (evaluating runs local()).
RECORD = "k8s-deployed.json"


@dataclass
class Deployments:
    by_resource: dict[str, Deployed] = field(default_factory=dict)
    # Called with the whole record after each change (the app writes it to RECORD).
    record: Callable[[dict[str, Deployed]], object] | None = None

    def set(self, name: str, deployed: Deployed) -> None:
        self.by_resource[name] = deployed
        if self.record is not None:
            self.record(dict(self.by_resource))

    def pop(self, name: str) -> Deployed:
        deployed = self.by_resource.pop(name)
        if self.record is not None:
            self.record(dict(self.by_resource))
        return deployed


def _docs(r: Resource) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for obj in r.k8s.objects if r.k8s else ():
        out += flatten(list(yaml.safe_load_all(obj.yaml)))
    return out


def _locators(r: Resource) -> dict[str, list[Locator]]:
    return {f"{o.kind}/{o.namespace}/{o.name}": [Locator(*loc) for loc in o.image_locators]
            for o in (r.k8s.objects if r.k8s else ())}


def _key(doc: Mapping[str, Any]) -> str:
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    assert isinstance(meta, dict)
    return f"{doc.get('kind', '')}/{meta.get('namespace', '') or ''}/{meta.get('name', '')}"


def _namespace(doc: Mapping[str, Any], default: str) -> str:
    meta = doc.get("metadata")
    ns = meta.get("namespace") if isinstance(meta, dict) else None
    return str(ns) if ns else default


def pod_selectors(r: Resource, docs: Sequence[Mapping[str, Any]], default_ns: str, *,
                  labelled: bool) -> tuple[tuple[str, str], ...]:
    """Where the resource's pods are: lockstep's own label on the pod templates it applied
    (or, for YAML it did not write, the templates' labels), plus extra_pod_selectors."""
    out: list[tuple[str, str]] = []
    namespaces: list[str] = []
    # discovery_strategy='selectors-only': only extra_pod_selectors find the pods, as in Tilt.
    only_extra = r.k8s is not None and r.k8s.discovery_strategy is DiscoveryStrategy.SELECTORS_ONLY
    for doc in docs:
        if pod_templates(dict(doc)) or doc.get("kind") == "Pod":
            ns = _namespace(doc, default_ns)
            namespaces.append(ns)
            if only_extra:
                continue
            if labelled:
                out.append((ns, f"{commands.RESOURCE_LABEL}={commands.label_value(r.name)}"))
            else:
                for labels in template_labels(dict(doc)):
                    if labels:
                        out.append((ns, ",".join(f"{k}={v}" for k, v in sorted(labels.items()))))
    for sel in r.k8s.extra_pod_selectors if r.k8s else ():
        for ns in dict.fromkeys(namespaces or [default_ns]):
            out.append((ns, ",".join(f"{k}={v}" for k, v in sel)))
    return tuple(dict.fromkeys(out))


class K8sRunner:
    def __init__(self, cli: Cli, settings: Callable[[], Settings], images: ImageStep | None = None,
                 deployments: Deployments | None = None, live: K8sLive | None = None) -> None:
        self.cli = cli
        self.settings = settings
        self.images: ImageStep = images or NoImageBuilds()
        self.deployments = deployments if deployments is not None else Deployments()
        # Live update into the running pods (engine/live_k8s.py): tried first; None always applies.
        self.live = live

    async def run(self, job: UpdateJob, log: LogFn) -> Outcome:
        r = job.resource
        try:
            require("kubectl", f"deploy `{r.name}` to Kubernetes")
            if self.live is not None:
                synced = await self.live.try_update(job, log)
                if synced is not None:
                    return synced
            cluster = await self._cluster(log)
            built = await self.images.build(r, log)
            deployed = await self._deliver(r, cluster, built, log) if built else {}
            if r.k8s is not None and r.k8s.apply_cmd is not None and not r.k8s.objects:
                outcome = await self._custom(r, cluster, built, deployed, log)
            else:
                outcome = await self._apply(r, cluster, deployed, log)
            if self.live is not None:
                self.live.deployed(r.name, deployed if outcome.ok else None)
            return outcome
        except (K8sError, ToolMissing) as exc:
            if self.live is not None:
                self.live.deployed(r.name, None)
            log(str(exc), Stream.STDERR)
            return Outcome(False, str(exc))

    def _bound(self) -> float:
        """How long one kubectl call to the cluster may take (Tilt's upsert timeout, 30 s by default)."""
        return float(self.settings().k8s_upsert_timeout_secs)

    async def _cluster(self, log: LogFn) -> Cluster:
        res = await self.cli.run(commands.config_view(), timeout=self._bound())
        if res.code == TIMED_OUT:
            raise K8sError(f"kubectl config view failed: {_tail(res)}")
        view = res.json() if res.code == 0 else None
        cluster = cluster_from_config(view) if isinstance(view, dict) else None
        if cluster is None:
            raise K8sError("no current Kubernetes context: `kubectl config current-context` is empty"
                           + (f" ({res.stderr.strip()})" if res.stderr.strip() else "")
                           + "; create a cluster (e.g. `kind create cluster`) or `kubectl config use-context`")
        if not allowed(cluster, self.settings().allowed_k8s_contexts):
            raise K8sError(refusal(cluster.context))
        return cluster

    async def _plan(self, cluster: Cluster) -> Plan:
        registry = None
        res = await self.cli.run(commands.local_registry_configmap(cluster.context), timeout=self._bound())
        if res.code == TIMED_OUT:
            raise K8sError(f"kubectl get (the local registry ConfigMap) failed: {_tail(res)}")
        cm = res.json() if res.code == 0 else None
        if isinstance(cm, dict):
            text = (cm.get("data") or {}).get("localRegistryHosting.v1")
            hosting = yaml.safe_load(text) if isinstance(text, str) else None
            registry = registry_from_configmap(hosting) if isinstance(hosting, dict) else None
        return delivery(cluster, from_settings(self.settings()), registry)

    async def _deliver(self, r: Resource, cluster: Cluster, built: Mapping[str, str], log: LogFn) -> dict[str, str]:
        plan = await self._plan(cluster)
        out: dict[str, str] = {}
        targets = {img.ref: img for img in r.images}
        deployed_refs = _deployed_refs(r)
        for ref, ref_built in built.items():
            if plan.delivery is not Delivery.LOCAL_DAEMON and deployed_refs and ref not in deployed_refs:
                # A base only (its layers travel with the images on it), as in Tilt: a registry
                # that needs each repository created first (ECR) has none for it.
                log(f"Not pushing {ref_built}: only a base of other images", Stream.STDOUT)
                out[ref] = ref_built
                continue
            img = targets.get(ref)
            # As Tilt: a custom_build that pushes itself, or never touches the local daemon.
            push = img is None or not (img.disable_push or img.skips_local_docker)
            local = img is None or not img.skips_local_docker
            argvs, final = deliver(ref_built, plan, push=push, local=local)
            if not push and plan.delivery in (Delivery.PUSH, Delivery.PUSH_AS_IS):
                log(f"Not pushing {ref_built}: custom_build() pushes it itself", Stream.STDOUT)
            for argv in argvs:
                require(argv[0], f"get image {ref_built} into the cluster ({plan.delivery.value})")
                log(f"Running: {' '.join(argv)}", Stream.STDOUT)
                res = await self.cli.run(argv, log, echo=True)
                if res.code != 0:
                    raise K8sError(f"{' '.join(argv[:3])} failed (exit {res.code}): {_tail(res)}")
            out[ref] = final
        return out

    def _built_images(self, r: Resource, deployed: Mapping[str, str]) -> list[BuiltImage]:
        return [BuiltImage(img.ref, deployed[img.ref], exact=img.match_exact,
                           match_in_env_vars=img.match_in_env_vars, command=img.entrypoint or None,
                           args=img.container_args) for img in r.images if img.ref in deployed]

    async def _apply(self, r: Resource, cluster: Cluster, deployed: Mapping[str, str], log: LogFn) -> Outcome:
        images = self._built_images(r, deployed)
        locators = _locators(r)
        docs: list[dict[str, Any]] = []
        for doc in _docs(r):
            out, _ = inject(doc, images, locators.get(_key(doc), ()))
            docs.append(commands.label_object(out, r.name))
        docs = [dict(d) for d in apply_order(docs)]
        mutable = [d for d in docs if d.get("kind") not in commands.IMMUTABLE_KINDS]
        immutable = [d for d in docs if d.get("kind") in commands.IMMUTABLE_KINDS]
        applied: list[str] = []
        mode = self.settings().k8s_server_side_apply
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for d in mutable:
            argv = commands.apply_argv(cluster.context, mode, len(json.dumps(d)))
            groups.setdefault(tuple(argv), []).append(d)
        for argv_key, group in groups.items():
            applied += await self._kubectl_objects(list(argv_key), group, log, retry=True, context=cluster.context)
        if immutable:
            applied += await self._kubectl_objects(commands.replace_force(cluster.context), immutable, log,
                                                   context=cluster.context)
        default_ns = cluster.namespace or "default"
        idents = tuple(_ident(d, default_ns) for d in docs)
        await self._collect_garbage(r.name, cluster.context, idents, log)
        self.deployments.set(r.name, Deployed(
            cluster.context, pod_selectors(r, docs, default_ns, labelled=True),
            tuple((_namespace(d, default_ns), str(d["metadata"].get("name", ""))) for d in docs
                  if d.get("kind") == "Job"),
            tuple(applied), idents, frozenset(h for d in docs for h in commands.template_hashes(d))))
        return Outcome(True, outputs=Outputs(images=tuple(deployed.values()), applied=tuple(applied)))

    async def _collect_garbage(self, name: str, context: str, idents: tuple[tuple[str, str, str, str], ...],
                               log: LogFn) -> None:
        """Objects this resource applied last time that its YAML no longer has are deleted,
        as Tilt does; never a Namespace (Tilt's down keeps them too)."""
        before = self.deployments.by_resource.get(name)
        if before is None or before.context != context:
            return
        gone = [i for i in before.idents if i not in idents and i[1] != "Namespace"]
        if not gone:
            return
        docs = [{"apiVersion": a, "kind": k, "metadata": {"name": n, **({"namespace": ns} if ns else {})}}
                for a, k, ns, n in gone]
        log("No longer in the YAML, deleting: " + ", ".join(describe(d) for d in docs), Stream.STDOUT)
        res = await self.cli.run_with_file(commands.delete(context), yaml.safe_dump_all(docs, sort_keys=False), log,
                                           timeout=self._bound())
        if res.code != 0:
            raise K8sError(f"kubectl delete of objects removed from the YAML failed: {_tail(res)}")

    async def _kubectl_objects(self, argv: list[str], docs: list[dict[str, Any]], log: LogFn, *,
                               context: str, retry: bool = False) -> list[str]:
        text = yaml.safe_dump_all(docs, sort_keys=False)
        verb = next(a for a in argv if a in ("apply", "replace", "delete"))
        log(f"Running: {' '.join(argv[:-1])} <{len(docs)} object{'s' if len(docs) != 1 else ''}>", Stream.STDOUT)
        res = await self.cli.run_with_file(argv, text, log, timeout=self._bound())
        if res.code != 0 and retry and commands.immutable_error(res.stderr):
            log("An immutable field changed: deleting and applying again", Stream.STDOUT)
            gone = await self.cli.run_with_file(commands.delete(context), text, log, timeout=self._bound())
            if gone.code != 0:
                raise K8sError(f"kubectl delete (before re-applying) failed: {_tail(gone)}")
            res = await self.cli.run_with_file(argv, text, log, timeout=self._bound())
        if res.code != 0:
            raise K8sError(f"kubectl {verb} failed (exit {res.code}): {_tail(res)}")
        return _applied_names(res, docs, log)

    async def _custom(self, r: Resource, cluster: Cluster, built: Mapping[str, str],
                      deployed: Mapping[str, str], log: LogFn) -> Outcome:
        assert r.k8s is not None and r.k8s.apply_cmd is not None
        env: list[tuple[str, str]] = list(r.k8s.apply_env)
        for i, ref in enumerate(r.k8s.image_refs):
            env += [(f"TILT_IMAGE_{i}", deployed.get(ref, built.get(ref, ref))), (f"TILT_IMAGE_MAP_{i}", ref)]
        log(f"Running apply_cmd: {r.k8s.apply_cmd.display()}", Stream.STDOUT)
        res = await self.cli.run(list(r.k8s.apply_cmd.argv), log, cwd=r.k8s.apply_dir, env=tuple(env))
        if res.code != 0:
            return Outcome(False, f"apply_cmd exited with code {res.code}: {_tail(res)}")
        try:
            docs = flatten(list(yaml.safe_load_all(res.stdout)))
        except yaml.YAMLError as exc:
            return Outcome(False, f"apply_cmd must print the objects it applied as YAML: {exc}")
        if not docs:
            return Outcome(False, "apply_cmd printed no objects: it must print what it applied as YAML "
                                  "(e.g. `kubectl apply -o yaml`)")
        default_ns = cluster.namespace or "default"
        applied = tuple(_key(d) for d in docs)
        self.deployments.set(r.name, Deployed(
            cluster.context, pod_selectors(r, docs, default_ns, labelled=False),
            tuple((_namespace(d, default_ns), str(d.get("metadata", {}).get("name", ""))) for d in docs
                  if d.get("kind") == "Job"), applied, tuple(_ident(d, default_ns) for d in docs),
            delete_cmd=r.k8s.delete_cmd.argv if r.k8s.delete_cmd else (), delete_dir=r.k8s.delete_dir,
            delete_env=r.k8s.delete_env))
        return Outcome(True, outputs=Outputs(images=tuple(deployed.values()), applied=applied))


def _deployed_refs(r: Resource) -> set[str]:
    """The images (refs as the Tiltfile writes them) that the resource's YAML or custom deploy
    names itself; its other images are bases of those. Empty: unknown (deliver everything)."""
    if r.k8s is None:
        return set()
    if r.k8s.apply_cmd is not None and not r.k8s.objects:
        return images_named(r.k8s.image_refs, r.images)
    locators = _locators(r)
    return refs_used([(d, locators.get(_key(d), ())) for d in _docs(r)],
                     [BuiltImage(i.ref, "", exact=i.match_exact, match_in_env_vars=i.match_in_env_vars)
                      for i in r.images])


def _ident(doc: Mapping[str, Any], default_ns: str) -> tuple[str, str, str, str]:
    meta = doc.get("metadata")
    name = str(meta.get("name", "")) if isinstance(meta, dict) else ""
    return (str(doc.get("apiVersion", "")), str(doc.get("kind", "")), _namespace(doc, default_ns), name)


def _tail(res: Result) -> str:
    lines = [ln for ln in (res.stderr or res.stdout).splitlines() if ln.strip()]
    tail = lines[-1][:300] if lines else "no output"
    if res.code == TIMED_OUT:
        tail += ("; is the cluster reachable? (the bound is update_settings(k8s_upsert_timeout_secs=N), "
                 "30 by default)")
    return tail


def _applied_names(res: Result, docs: list[dict[str, Any]], log: LogFn) -> list[str]:
    """kind/namespace/name of what kubectl reports applied (its -o json), else of the input."""
    try:
        out = json.loads(res.stdout) if res.stdout.strip() else None
    except ValueError:
        out = None
    items = flatten([out]) if isinstance(out, dict) else docs
    for d in items:
        log(f"Applied {describe(d)}", Stream.STDOUT)
    return [_key(d) for d in items]
