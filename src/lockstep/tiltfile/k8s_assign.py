"""Group k8s objects into resources the way Tilt does.

Each workload (an object with a pod template, a k8s_kind() kind, or one that runs an
image this Tiltfile builds) becomes a resource named after it; k8s_resource() renames
resources and attaches further objects; everything left goes to `uncategorized`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

import starlark as sl

from lockstep.model.resource import (
    DiscoveryStrategy,
    K8sObject,
    K8sSpec,
    PodReadiness,
    PortForward,
    Resource,
    ResourceKind,
)
from lockstep.tiltfile.args import closest
from lockstep.tiltfile.k8s_objects import (
    WORKLOAD_KINDS,
    container_images,
    json_path_values,
    refs_match,
    selector_matches,
)
from lockstep.tiltfile.opts import merge_opts, not_found
from lockstep.tiltfile.state import EvalState, K8sObjectEntry, K8sResourceOpts

UNCATEGORIZED = "uncategorized"


@dataclass
class _Group:
    name: str
    original: str
    entries: list[K8sObjectEntry] = field(default_factory=list)
    opts: list[K8sResourceOpts] = field(default_factory=list)


def _kind_info(st: EvalState, kind: str) -> Any:
    for key, info in st.k8s_kinds.items():
        if key == kind.lower() or re.fullmatch(key, kind, re.IGNORECASE):
            return info
    return None


def image_refs(st: EvalState, entry: K8sObjectEntry) -> list[str]:
    refs = container_images(entry.doc)
    info = _kind_info(st, entry.obj.kind)
    for path in info.image_json_paths if info else ():
        refs += json_path_values(entry.doc, path)
    for jp in st.image_json_paths:
        obj = entry.obj
        if jp.kind and jp.kind.lower() != obj.kind.lower():
            continue
        if jp.name and jp.name != obj.name:
            continue
        if jp.namespace and jp.namespace != obj.namespace:
            continue
        for path in jp.paths:
            refs += json_path_values(entry.doc, path)
    return list(dict.fromkeys(refs))


def _is_workload(st: EvalState, entry: K8sObjectEntry, refs: list[str]) -> bool:
    if entry.obj.kind.lower() in WORKLOAD_KINDS or _kind_info(st, entry.obj.kind):
        return True
    return any(refs_match(img.ref, r) for img in st.images for r in refs)


def _default_names(st: EvalState, workloads: list[K8sObjectEntry]) -> list[str]:
    """Object name; on a clash name:kind; then name:kind:namespace (Tilt's scheme)."""
    def key(e: K8sObject, level: int) -> str:
        parts = [e.name, e.kind.lower(), e.namespace or "default"]
        return ":".join(parts[: level + 1])

    names = []
    for e in workloads:
        level = 0
        while level < 2 and sum(1 for o in workloads if key(o.obj, level) == key(e.obj, level)) > 1:
            level += 1
        names.append(key(e.obj, level))
    return names


def _w2r_names(st: EvalState, workloads: list[K8sObjectEntry], names: list[str]) -> list[str]:
    """Apply a workload_to_resource_function(), calling the Starlark function it registered."""
    if not st.w2r_modules:
        return names
    module = st.loaded_modules.get(st.w2r_modules[-1])
    if not isinstance(module, sl.FrozenModule):
        return names
    out = []
    for e, default in zip(workloads, names, strict=True):
        ident = {"name": e.obj.name, "kind": e.obj.kind, "namespace": e.obj.namespace,
                 "group": e.obj.api_version.split("/")[0] if "/" in e.obj.api_version else ""}
        try:
            value = module.call("lockstep_call_w2r", ident)
        except Exception as exc:  # a Starlark error in the user's function
            st.error(f"workload_to_resource_function failed for {e.obj.name}: "
                     f"{str(exc).strip().splitlines()[-1]}", e.location, "fix the naming function")
            return names
        out.append(value if isinstance(value, str) and value else default)
    return out


def k8s_resources(st: EvalState) -> list[Resource]:
    refs = {id(e): image_refs(st, e) for e in st.k8s_objects}
    workloads = [e for e in st.k8s_objects if _is_workload(st, e, refs[id(e)])]
    names = _w2r_names(st, workloads, _default_names(st, workloads))
    groups: dict[str, _Group] = {}
    for e, name in zip(workloads, names, strict=True):
        groups.setdefault(name, _Group(name, name)).entries.append(e)
    assigned = {id(e) for e in workloads}
    for opts in st.k8s_opts:
        _apply(st, groups, opts, assigned)
    rest = [e for e in st.k8s_objects if id(e) not in assigned]
    if rest:
        group = groups.get(UNCATEGORIZED) or _Group(UNCATEGORIZED, UNCATEGORIZED)
        group.entries.extend(rest)
        groups[UNCATEGORIZED] = group
    return [_resource(st, g, refs) for g in groups.values()]


def _apply(st: EvalState, groups: dict[str, _Group], opts: K8sResourceOpts, assigned: set[int]) -> None:
    group = None
    if opts.workload:
        group = groups.get(opts.workload) or next(
            (g for g in groups.values() if g.original == opts.workload), None)
        if group is None:
            match = closest(opts.workload, [g.name for g in groups.values()])
            hint = (f"did you mean `{match}`?" if match else
                    "k8s_resource() names a workload from k8s_yaml(); check the object's metadata.name")
            not_found(st, f"k8s_resource(): no workload named `{opts.workload}` in the YAML",
                      opts.location, hint)
            return
    elif opts.new_name in groups:
        group = groups[opts.new_name]
    else:
        group = _Group(opts.new_name, opts.new_name)
        groups[opts.new_name] = group
    for selector in opts.objects:
        matched = [e for e in st.k8s_objects if selector_matches(selector, e.obj)]
        if not matched:
            names = [e.obj.ref for e in st.k8s_objects]
            match = closest(selector, names)
            hint = (f"did you mean `{match}`?" if match
                    else "use name[:kind[:namespace]] of an object from k8s_yaml()")
            not_found(st, f"k8s_resource(): no object matches `{selector}`", opts.location, hint)
            continue
        for e in matched:
            if id(e) in assigned:
                for g in groups.values():
                    if e in g.entries and g is not group:
                        g.entries.remove(e)
            assigned.add(id(e))
            if e not in group.entries:
                group.entries.append(e)
    group.opts.append(opts)
    if opts.new_name and opts.new_name != group.name:
        groups.pop(group.name, None)
        group.name = opts.new_name
        groups[group.name] = group


def _resource(st: EvalState, g: _Group, refs: dict[int, list[str]]) -> Resource:
    used = [r for e in g.entries for r in refs[id(e)]]
    images = tuple(img for img in st.images if any(refs_match(img.ref, r) for r in used))
    r = Resource(name=g.name, kind=ResourceKind.K8S, trigger_mode=st.default_trigger_mode, images=images,
                 location=g.entries[0].location if g.entries else None)
    pfs: list[PortForward] = []
    selectors: list[tuple[tuple[str, str], ...]] = []
    pod_readiness, discovery = PodReadiness.AUTO, DiscoveryStrategy.DEFAULT
    for o in g.opts:
        r = replace(merge_opts(r, o), location=o.location or r.location)
        pfs += o.port_forwards
        selectors += o.extra_pod_selectors
        pod_readiness = pod_readiness if o.pod_readiness is None else o.pod_readiness
        discovery = discovery if o.discovery_strategy is None else o.discovery_strategy
    return replace(r, k8s=K8sSpec(
        objects=tuple(e.obj for e in g.entries), image_refs=tuple(i.ref for i in images),
        port_forwards=tuple(pfs), extra_pod_selectors=tuple(selectors),
        pod_readiness=pod_readiness, discovery_strategy=discovery))
