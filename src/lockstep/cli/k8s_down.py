"""`lockstep down`'s Kubernetes part: delete what the Tiltfile deploys, as Tilt does.

Resources go in reverse dependency order (dependents first; `uncategorized`, which is
applied first, goes last), each resource's objects in reverse apply order, one
`kubectl delete --ignore-not-found` per resource. Objects annotated
`tilt.dev/down-policy: keep` stay, and so do Namespaces unless --delete-namespaces.
k8s_custom_deploy resources run their delete_cmd. The context must pass the same safety
check as `up`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from typing import Any

import yaml

from lockstep.adapters.kubectl import TIMED_OUT
from lockstep.k8s import commands
from lockstep.k8s.context import allowed, cluster_from_config, refusal
from lockstep.k8s.ordering import describe, down_plan
from lockstep.model.graph import edges_of, topo_order
from lockstep.model.resource import LoadResult, Resource, ResourceKind
from lockstep.tiltfile.k8s_assign import UNCATEGORIZED
from lockstep.tiltfile.k8s_objects import flatten

Out = Callable[[str], None]


def _ordered(result: LoadResult) -> list[Resource]:
    names = [r.name for r in result.resources]
    order = topo_order(names, edges_of(result.resources))
    k8s = [r for n in order if (r := result.resource(n)) is not None and r.kind is ResourceKind.K8S]
    return sorted(k8s, key=lambda r: r.name != UNCATEGORIZED)  # stable: uncategorized first


def _docs(r: Resource) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for obj in r.k8s.objects if r.k8s else ():
        out += flatten(list(yaml.safe_load_all(obj.yaml)))
    return out


def _run(argv: list[str], text: str | None = None, **kw: Any) -> subprocess.CompletedProcess[str]:
    """Run to completion; a command that outlives `timeout=` (a cluster that accepts the
    connection and never answers) is killed and reported as exit TIMED_OUT with the reason."""
    try:
        if text is None:
            return subprocess.run(argv, capture_output=True, text=True, check=False, **kw)
        with tempfile.TemporaryDirectory(prefix="lockstep-down-") as tmp:
            path = os.path.join(tmp, "objects.yaml")
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text)
            argv = [path if a == "-" else a for a in argv]
            return subprocess.run(argv, capture_output=True, text=True, check=False, **kw)
    except subprocess.TimeoutExpired as exc:
        return subprocess.CompletedProcess(argv, TIMED_OUT, "", f"`{' '.join(argv[:4])}` got no answer within "
                                           f"{exc.timeout:g}s and was stopped; is the cluster reachable? (the "
                                           "bound is update_settings(k8s_upsert_timeout_secs=N), 30 by default)")


def delete_k8s(result: LoadResult, out: Out, *, delete_namespaces: bool = False) -> int:
    resources = _ordered(result)
    if not resources:
        return 0
    if shutil.which("kubectl") is None:
        out("lockstep down: `kubectl` is not installed (or not on PATH): it is needed to delete the "
            f"Kubernetes resources {', '.join(r.name for r in resources)}; install kubectl and run down again")
        return 1
    bound = float(result.settings.k8s_upsert_timeout_secs)
    view = _run(commands.config_view(), timeout=bound)
    try:
        cluster = cluster_from_config(json.loads(view.stdout)) if view.returncode == 0 else None
    except ValueError:
        cluster = None
    if view.returncode == TIMED_OUT:
        out(f"lockstep down: {view.stderr}; nothing deleted")
        return 1
    if cluster is None:
        out("lockstep down: no current Kubernetes context; nothing deleted")
        return 1
    if not allowed(cluster, result.settings.allowed_k8s_contexts):
        out(f"lockstep down: {refusal(cluster.context)}")
        return 1
    code = 0
    custom = [r for r in resources if r.k8s is not None and r.k8s.delete_cmd is not None and not r.k8s.objects]
    plain = [r for r in resources if r not in custom]
    for r in reversed(custom):
        assert r.k8s is not None and r.k8s.delete_cmd is not None
        out(f"lockstep down: {r.name}: running delete_cmd: {r.k8s.delete_cmd.display()}")
        env = {**os.environ, **dict(r.k8s.delete_env)}
        done = _run(list(r.k8s.delete_cmd.argv), cwd=r.k8s.delete_dir or None, env=env)
        if done.returncode != 0:
            out(f"lockstep down: {r.name}: delete_cmd exited with code {done.returncode}: {done.stderr.strip()[-300:]}")
            code = 1
    per_resource = [_docs(r) for r in plain]
    plan = down_plan(per_resource, delete_namespaces=delete_namespaces)
    for line in plan.kept:
        out(f"lockstep down: keeping {line}")
    doomed = {id(d) for d in plan.delete}
    for r, docs in reversed(list(zip(plain, per_resource, strict=True))):
        mine = [d for d in plan.delete if any(d is x for x in docs)]
        if not mine:
            continue
        assert all(id(d) in doomed for d in mine)
        out(f"lockstep down: {r.name}: deleting " + ", ".join(describe(d) for d in mine))
        done = _run(commands.delete(cluster.context), yaml.safe_dump_all(mine, sort_keys=False), timeout=bound)
        if done.returncode != 0:
            out(f"lockstep down: {r.name}: kubectl delete failed: {done.stderr.strip()[-300:]}")
            code = 1
    return code
