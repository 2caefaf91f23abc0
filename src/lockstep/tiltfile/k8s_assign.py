"""Group k8s objects into resources the way Tilt does.

1. Workloads (an object matched by k8s_kind()/k8s_image_json_path(), or one whose pods run
   any image) each become a resource, named by the shortest unique `name[:kind[:namespace]]`
   (or workload_to_resource_function). Each takes the Services whose selector matches its
   pod template labels (same namespace, or a Service without one).
2. Other objects with a pod template become a resource named after the object, also with
   their Services.
3. k8s_resource() calls apply in order: rename, attach `objects=` (each selector must name
   exactly one object not yet claimed), or create a resource from objects (`new_name`).
4. Whatever is left goes to `uncategorized`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import starlark as sl

from lockstep.k8s.forwards import links as forward_links
from lockstep.k8s.ordering import needs, provided
from lockstep.model.resource import (
    DiscoveryStrategy,
    K8sSpec,
    PodReadiness,
    PortForward,
    Resource,
    ResourceKind,
    SourceLocation,
)
from lockstep.tiltfile.args import closest
from lockstep.tiltfile.images import ImageIndex
from lockstep.tiltfile.jsonpath import JsonPathError, evaluate
from lockstep.tiltfile.k8s_objects import (
    container_images,
    env_values,
    fragments,
    full_name,
    group_of,
    pod_templates,
    service_selector,
    split_selector,
    template_labels,
)
from lockstep.tiltfile.opts import merge_opts, not_found, resource_deps_warnings
from lockstep.tiltfile.refs import ImageRef, RefSelector, try_ref
from lockstep.tiltfile.state import EvalState, K8sObjectEntry, K8sResourceOpts, KindInfo

UNCATEGORIZED = "uncategorized"


@dataclass
class _Group:
    name: str
    entries: list[K8sObjectEntry] = field(default_factory=list)
    opts: list[K8sResourceOpts] = field(default_factory=list)
    manual: bool = False


def kind_matches(info: KindInfo, entry: K8sObjectEntry) -> bool:
    obj = entry.obj
    values = (obj.api_version, obj.kind, obj.name, obj.namespace or "default")
    for pattern, value in zip(info.key, values, strict=True):
        if pattern and not re.search(pattern, value, re.IGNORECASE):
            return False
    return True


def image_refs(st: EvalState, entry: K8sObjectEntry, env_images: list[str]) -> list[str]:
    """Every image ref the object uses: containers, image volumes, locators, and env values
    equal to an image built with match_in_env_vars=True."""
    refs = container_images(entry.doc)
    for info in st.k8s_kinds.values():
        if not kind_matches(info, entry):
            continue
        for path in info.image_json_paths:
            refs += [v for v in _json(entry.doc, path) if isinstance(v, str)]
        for path, repo_field, tag_field in info.image_objects:
            for v in _json(entry.doc, path):
                if isinstance(v, dict) and isinstance(v.get(repo_field), str):
                    tag = v.get(tag_field)
                    refs.append(v[repo_field] + (f":{tag}" if isinstance(tag, str) and tag else ""))
    if env_images:
        for value in env_values(entry.doc):
            ref = try_ref(value)
            if ref is not None and any(_env_match(img, ref) for img in env_images):
                refs.append(value)
    return list(dict.fromkeys(refs))


def _env_match(built: str, used: ImageRef) -> bool:
    b = try_ref(built)
    return b is not None and RefSelector.of(b).matches(used)


def _json(doc: object, path: str) -> list[object]:
    try:
        return evaluate(doc, path)
    except JsonPathError:
        return []  # reported when k8s_kind() was called


def unique_names(entries: list[K8sObjectEntry]) -> list[str]:
    """Tilt's scheme: the shortest of name, name:kind, name:kind:namespace, ...:group that
    no other workload also wants; lower-cased."""
    wanted: dict[str, int] = {}
    for e in entries:
        for n in fragments(e.obj):
            wanted[n] = wanted.get(n, 0) + 1
    out = []
    for i, e in enumerate(entries):
        names = fragments(e.obj)
        out.append(next((n for n in names if wanted[n] == 1), f"{names[-1]}:{i}"))
    return out


def _w2r_names(st: EvalState, workloads: list[K8sObjectEntry], names: list[str]) -> list[str]:
    """Apply a workload_to_resource_function(), calling the Starlark function it registered."""
    if not st.w2r_modules:
        return names
    module = st.loaded_modules.get(st.w2r_modules[-1])
    if not isinstance(module, sl.FrozenModule):
        return names
    out: list[str] = []
    taken: dict[str, str] = {}
    for e in workloads:
        ident = {"name": e.obj.name, "kind": e.obj.kind, "namespace": e.obj.namespace or "default",
                 "group": group_of(e.obj.api_version)}
        what = ":".join(ident.values()).lower()
        try:
            value = module.call("lockstep_call_w2r", ident)
        except Exception as exc:  # a Starlark error in the user's function
            st.error(f"workload_to_resource_function failed for {what}: "
                     f"{str(exc).strip().splitlines()[-1]}", e.location, "fix the naming function")
            return names
        if not isinstance(value, str) or not value:
            st.error(f"workload_to_resource_function returned {value!r} for {what}", e.location,
                     "return a non-empty string: the resource name")
            return names
        if value in taken:
            st.error(f"workload_to_resource_function: both {taken[value]} and {what} map to "
                     f"resource name `{value}`", e.location, "return a different name for each workload")
            return names
        taken[value] = what
        out.append(value)
    return out


class _Assembler:
    def __init__(self, st: EvalState, index: ImageIndex, taken: set[str]) -> None:
        self.st = st
        self.index = index
        self.taken = taken  # names of non-k8s resources: a k8s resource may not reuse one
        self.groups: dict[str, _Group] = {}
        self.unresourced: list[K8sObjectEntry] = list(st.k8s_objects)
        env_images = [img.ref for img in st.images if img.match_in_env_vars]
        self.refs = {id(e): image_refs(st, e, env_images) for e in st.k8s_objects}

    def conflict(self, name: str) -> str:
        if name in self.groups:
            return f"a k8s resource named `{name}` already exists"
        if name in self.taken:
            return f"a resource named `{name}` already exists"
        return ""

    def new_group(self, name: str, location: SourceLocation | None) -> _Group | None:
        problem = self.conflict(name)
        if problem:
            self.st.error(f"cannot make a k8s resource `{name}`: {problem}", location,
                          "rename one of them (k8s_resource(new_name=) or workload_to_resource_function)")
            return None
        group = _Group(name)
        self.groups[name] = group
        return group

    def take_services(self, workload: K8sObjectEntry, group: _Group) -> None:
        namespace = workload.obj.namespace or "default"
        for labels in template_labels(workload.doc):
            keep = []
            for e in self.unresourced:
                selector = service_selector(e.doc)
                ns_ok = not e.obj.namespace or e.obj.namespace == "default" or e.obj.namespace == namespace
                if selector and ns_ok and all(labels.get(k) == v for k, v in selector.items()):
                    group.entries.append(e)
                else:
                    keep.append(e)
            self.unresourced = keep

    def by_workload(self) -> None:
        workloads = [e for e in self.unresourced
                     if any(kind_matches(i, e) for i in self.st.k8s_kinds.values()) or self.refs[id(e)]]
        self.unresourced = [e for e in self.unresourced if e not in workloads]
        names = _w2r_names(self.st, workloads, unique_names(workloads))
        for e, name in zip(workloads, names, strict=True):
            group = self.new_group(name, e.location)
            if group is None:
                continue
            group.entries.append(e)
            self.take_services(e, group)

    def by_pod_template(self) -> None:
        for e in [e for e in self.unresourced if pod_templates(e.doc)]:
            if e not in self.unresourced:
                continue
            self.unresourced.remove(e)
            group = self.groups.get(e.obj.name) or self.new_group(e.obj.name, e.location)
            if group is None:
                continue
            group.entries.append(e)
            self.take_services(e, group)

    def apply(self, opts: K8sResourceOpts) -> None:
        st = self.st
        if not opts.workload:
            group = self.new_group(opts.new_name, opts.location)
            if group is None:
                return
            group.manual = True
        else:
            found = self.groups.get(opts.workload)
            if found is None:
                match = closest(opts.workload, list(self.groups))
                known = ", ".join(self.groups) or "(none)"
                hint = (f"did you mean `{match}`?" if match else
                        f"k8s resources from the YAML: {known}")
                not_found(st, f"k8s_resource(): no workload named `{opts.workload}` in the YAML",
                          opts.location, hint)
                resource_deps_warnings(st, opts.resource_deps, opts.location, list(self.groups))
                return
            group = found
            if opts.new_name and opts.new_name != group.name:
                problem = self.conflict(opts.new_name)
                if problem:
                    st.error(f"k8s_resource(): cannot rename `{group.name}` to `{opts.new_name}`: {problem}",
                             opts.location, "pick a new_name that no other resource uses")
                else:
                    del self.groups[group.name]
                    group.name = opts.new_name
                    self.groups[group.name] = group
        group.opts.append(opts)
        for selector in opts.objects:
            self.attach(group, selector, opts.location)

    def attach(self, group: _Group, selector: str, location: SourceLocation | None) -> None:
        st = self.st
        parts = split_selector(selector)
        if not selector and st.dry_run and st.missing_inputs:
            # Typically a name read from YAML the dry run could not see.
            not_found(st, "k8s_resource(): empty object selector", location,
                      "use name, name:kind or name:kind:namespace of an object from k8s_yaml()")
            return
        if not selector or len(parts) > 3:
            st.error(f"k8s_resource(): invalid object selector {selector!r}", location,
                     "use name, name:kind or name:kind:namespace (escape a colon in a name as `\\\\:`)")
            return
        everything = [e for g in self.groups.values() for e in g.entries] + self.unresourced
        matched = [e for e in everything if selector.lower() in fragments(e.obj)]
        if not matched:
            names = [full_name(e.obj) for e in everything]
            match = closest(selector, names)
            not_found(st, f"k8s_resource(): no object matches `{selector}`", location,
                      f"did you mean `{match}`?" if match else
                      "use name[:kind[:namespace]] of an object from k8s_yaml()")
            return
        if len(matched) > 1:
            listed = ", ".join(f"`{full_name(e.obj)}`" for e in matched)
            st.error(f"k8s_resource(): `{selector}` matches several objects: {listed}", location,
                     "add the kind and namespace: name:kind:namespace")
            return
        entry = matched[0]
        if entry not in self.unresourced:
            owner = next((g.name for g in self.groups.values() if entry in g.entries), "?")
            st.error(f"k8s_resource(): object `{full_name(entry.obj)}` already belongs to resource "
                     f"`{owner}`", location,
                     "an object can be in one resource only; remove it from one of the objects= lists")
            return
        self.unresourced.remove(entry)
        group.entries.append(entry)


def k8s_resources(st: EvalState, index: ImageIndex, taken: set[str]) -> list[Resource]:
    asm = _Assembler(st, index, taken)
    asm.by_workload()
    asm.by_pod_template()
    for opts in st.k8s_opts:
        asm.apply(opts)
    out = []
    for g in asm.groups.values():
        if not g.entries:
            not_found(st, f"k8s resource `{g.name}` has no objects", g.opts[0].location if g.opts else None,
                      "give k8s_resource(new_name=...) the objects= it should deploy")
            if not (st.dry_run and st.missing_inputs):
                continue
            # A dry run keeps it: its objects are likely in the YAML it could not read, and
            # other resources' resource_deps may name it.
        out.append(_resource(st, asm, g))
    if asm.unresourced:
        # Tilt applies `uncategorized` first. Where that matters (it creates the Namespace a
        # resource deploys into, or the CRD of one of its objects), lockstep makes it an upstream,
        # so it is applied first on every update, not only the first one.
        namespaces, kinds = provided([e.doc for e in asm.unresourced])
        out = [replace(r, resource_deps=(*r.resource_deps, UNCATEGORIZED))
               if r.k8s is not None and UNCATEGORIZED not in r.resource_deps
               and needs([(o.kind, o.namespace) for o in r.k8s.objects], namespaces, kinds) else r for r in out]
        out.append(_resource(st, asm, _Group(UNCATEGORIZED, asm.unresourced)))
    return out


def _inferred_readiness(st: EvalState, g: _Group, images: tuple[object, ...],
                        selectors: list[tuple[tuple[str, str], ...]]) -> PodReadiness:
    """Tilt's inference when k8s_resource() does not say: a k8s_kind()'s pod_readiness; else
    "ignore" for a resource grouped by hand from objects that run no image and select no pods
    (a ConfigMap, CRDs: no pods will come); else "wait"."""
    modes = {info.pod_readiness for info in st.k8s_kinds.values() for e in g.entries
             if info.pod_readiness is not PodReadiness.AUTO and kind_matches(info, e)}
    for mode in (PodReadiness.WAIT, PodReadiness.IGNORE, PodReadiness.SUCCEEDED):
        if mode in modes:
            return mode
    if g.manual and not selectors and not images:
        return PodReadiness.IGNORE
    return PodReadiness.WAIT


def _locators(st: EvalState, entry: K8sObjectEntry) -> tuple[tuple[str, str, str], ...]:
    out: list[tuple[str, str, str]] = []
    for info in st.k8s_kinds.values():
        if kind_matches(info, entry):
            out += [(path, "", "") for path in info.image_json_paths]
            out += list(info.image_objects)
    return tuple(dict.fromkeys(out))


def _resource(st: EvalState, asm: _Assembler, g: _Group) -> Resource:
    used = [r for e in g.entries for r in asm.refs[id(e)]]
    images = asm.index.targets(used) if g.name != UNCATEGORIZED else ()
    r = Resource(name=g.name, kind=ResourceKind.K8S, trigger_mode=st.default_trigger_mode, images=images,
                 location=g.entries[0].location if g.entries else None)
    pfs: list[PortForward] = []
    selectors: list[tuple[tuple[str, str], ...]] = []
    pod_readiness: PodReadiness | None = None
    discovery = DiscoveryStrategy.DEFAULT
    for o in g.opts:
        r = replace(merge_opts(r, o), location=o.location or r.location)
        pfs += o.port_forwards
        selectors += o.extra_pod_selectors
        pod_readiness = pod_readiness if o.pod_readiness is None else o.pod_readiness
        discovery = discovery if o.discovery_strategy is None else o.discovery_strategy
    if pod_readiness is None:
        pod_readiness = (_inferred_readiness(st, g, images, selectors) if g.name != UNCATEGORIZED
                         else PodReadiness.AUTO)
    # Each forward is also a link (its URL does not depend on the pod), as Tilt shows them.
    known = {x.url for x in r.links}
    r = replace(r, links=r.links + tuple(x for x in forward_links(tuple(pfs)) if x.url not in known))
    return replace(r, k8s=K8sSpec(
        objects=tuple(replace(e.obj, image_locators=_locators(st, e)) for e in g.entries),
        image_refs=tuple(i.ref for i in images),
        port_forwards=tuple(pfs), extra_pod_selectors=tuple(selectors),
        pod_readiness=pod_readiness, discovery_strategy=discovery))
