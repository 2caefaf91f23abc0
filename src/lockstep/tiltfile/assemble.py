"""After evaluation: index the images, group k8s objects into resources, build compose
resources, attach images (with the images they are built from), then validate the graph
(unknown or cyclic resource_deps) and the selection of enabled resources."""

from __future__ import annotations

import os
from dataclasses import replace

from lockstep.model import graph
from lockstep.model.resource import (
    ComposeSpec,
    ImageTarget,
    K8sSpec,
    LiveUpdateKind,
    Resource,
    ResourceKind,
    Settings,
)
from lockstep.tiltfile.args import closest
from lockstep.tiltfile.images import ImageIndex, build_index, unused_images
from lockstep.tiltfile.k8s_assign import UNCATEGORIZED, k8s_resources
from lockstep.tiltfile.live_update import check_unused_steps
from lockstep.tiltfile.opts import merge_opts, not_found
from lockstep.tiltfile.state import EvalState

_SETTING_FIELDS = set(Settings.__dataclass_fields__)


def compose_resources(st: EvalState, index: ImageIndex) -> list[Resource]:
    out: dict[str, Resource] = {}
    for svc in st.compose_services:
        images = index.targets([svc.image]) if svc.image else ()
        # A `build:` no image of the Tiltfile replaces is Compose's to build, as in Tilt; its
        # context is watched so that an edit rebuilds it.
        compose_builds = bool(svc.build_context) and not images
        out[svc.name] = Resource(
            name=svc.name, kind=ResourceKind.COMPOSE, trigger_mode=st.default_trigger_mode,
            links=svc.links, resource_deps=svc.depends_on, images=images, location=svc.location,
            deps=(svc.build_context,) if compose_builds else (),
            ignore=svc.build_ignore if compose_builds else (),
            compose=ComposeSpec(svc.project_files, svc.name, tuple(i.ref for i in images), svc.project,
                                config_digest=svc.config_digest, project_digest=svc.project_digest,
                                compose_builds=compose_builds,
                                ready_when_completed=svc.ready_when_completed, env_file=svc.env_file),
        )
    renamed: dict[str, str] = {}
    for opts in st.dc_opts:
        r = out.get(opts.name)
        if r is None:
            match = closest(opts.name, out)
            not_found(st, f"dc_resource(): no Compose service named `{opts.name}`", opts.location,
                      f"did you mean `{match}`?" if match else "check the service names in the compose file")
            continue
        r = replace(merge_opts(r, opts), location=opts.location or r.location)
        if opts.new_name:
            del out[opts.name]
            renamed[opts.name] = opts.new_name
            r = replace(r, name=opts.new_name)
        out[r.name] = r
    # depends_on name services; follow dc_resource(new_name=) renames.
    return [replace(r, resource_deps=tuple(renamed.get(d, d) for d in r.resource_deps)) for r in out.values()]


def _custom_images(st: EvalState, index: ImageIndex, r: Resource) -> Resource:
    if r.k8s is None or not r.k8s.image_refs:
        return r
    required = [ref for ref in r.k8s.image_refs if ref in st.custom_image_deps.get(r.name, ())]
    for ref in required:
        if index.find(ref) is None:
            match = closest(ref, [img.ref for img in st.images])
            st.error(f"k8s_custom_deploy `{r.name}`: image build `{ref}` not found", r.location,
                     f"did you mean `{match}`?" if match else
                     "build it with docker_build()/custom_build(), or remove it from image_deps")
    return replace(r, images=index.targets(list(r.k8s.image_refs)))


def _custom_opts(st: EvalState, r: Resource) -> Resource:
    """k8s_resource() may configure a k8s_custom_deploy resource by its name, as in Tilt."""
    mine = [o for o in st.k8s_opts if o.workload == r.name]
    st.k8s_opts = [o for o in st.k8s_opts if o.workload != r.name]
    for o in mine:
        r = replace(
            merge_opts(r, o), name=o.new_name or r.name,
            k8s=replace(r.k8s, port_forwards=r.k8s.port_forwards + o.port_forwards) if r.k8s else r.k8s)
    return r


def _check_live_updates(st: EvalState, index: ImageIndex) -> None:
    """Tilt's rule: a live_update sync source or fall_back_on file must be under a path the
    image (or an image it is built from) watches, or no change would ever reach it."""
    for i, img in enumerate(index.images):
        if not img.live_update:
            continue
        watched = [p for j in index.with_deps([i], mark=False) for p in _watched(index.images[j])]
        for step in img.live_update:
            for path in (step.local_path, *step.paths) if step.local_path or step.paths else ():
                if path and not any(os.path.commonpath([w, path]) == w for w in watched):
                    what = "sync() source" if path == step.local_path else "fall_back_on() file"
                    st.error(f"image `{img.ref}`: live_update {what} {path} is not under any path the "
                             f"image watches ({', '.join(watched) or 'none'})", img.location,
                             "sync paths inside the build context (docker_build) or deps (custom_build)")


def _watched(img: ImageTarget) -> list[str]:
    if img.custom_command is not None:
        return list(img.deps)
    return [img.context] if img.context else []


def validate_deps(st: EvalState, resources: list[Resource]) -> list[Resource]:
    names = [r.name for r in resources]
    known = set(names)
    out: list[Resource] = []
    for r in resources:
        kept: list[str] = []
        for dep in r.resource_deps:
            if dep == r.name:
                st.error(f"resource `{r.name}` lists itself in resource_deps", r.location,
                         f"remove `{dep}` from its resource_deps")
            elif dep not in known:
                match = closest(dep, names)
                hint = (f"did you mean `{match}`?" if match
                        else f"define a resource named `{dep}` or remove it")
                not_found(st, f"resource `{r.name}` depends on unknown resource `{dep}`", r.location, hint)
            elif dep not in kept:
                kept.append(dep)
        out.append(replace(r, resource_deps=tuple(kept)) if tuple(kept) != r.resource_deps else r)
    cycle = graph.find_cycle(names, graph.edges_of(out))
    if cycle:
        first = next(r for r in out if r.name == cycle[1])
        st.error("resource_deps form a cycle: " + " -> ".join(cycle), first.location,
                 f"remove one of these dependencies, e.g. `{cycle[0]}` "
                 f"from the resource_deps of `{cycle[1]}`")
    return out


def _enabled(st: EvalState, seen: dict[str, Resource]) -> None:
    if st.enabled_resources is None and st.args and not st.config_parsed:
        # Tilt's rule: without config.parse(), extra arguments name the resources to run.
        st.enabled_resources = st.args
    if not st.enabled_resources:
        return
    for name in st.enabled_resources:
        if name not in seen:
            match = closest(name, list(seen))
            not_found(st, f"enabled resource `{name}` does not exist", None,
                      f"did you mean `{match}`?" if match else "check the resource names")
    if UNCATEGORIZED in seen and UNCATEGORIZED not in st.enabled_resources:
        # Tilt always keeps the uncategorized objects (namespaces, CRDs, config) enabled.
        st.enabled_resources = (*st.enabled_resources, UNCATEGORIZED)


def _check_restart_container(st: EvalState, resources: list[Resource]) -> None:
    """Tilt deprecated restart_container() for Kubernetes (it restarts the whole container);
    it stays valid for Docker Compose."""
    for r in resources:
        if r.kind is not ResourceKind.K8S:
            continue
        for img in r.images:
            if any(s.kind is LiveUpdateKind.RESTART_CONTAINER for s in img.live_update):
                st.error(f"resource `{r.name}`: restart_container() in the live_update of `{img.ref}` is "
                         "not supported for Kubernetes resources", img.location,
                         "use the restart_process extension (load('ext://restart_process', ...)) instead")


def _check_compose_entrypoints(st: EvalState, resources: list[Resource]) -> None:
    for r in resources:
        if r.kind is ResourceKind.COMPOSE:
            for img in r.images:
                if img.entrypoint:
                    st.error(f"resource `{r.name}`: entrypoint= of image `{img.ref}` is not supported for "
                             "Docker Compose services", img.location,
                             "set the command in the compose file instead")


def assemble(st: EvalState) -> tuple[list[Resource], Settings]:
    check_unused_steps(st)
    index = build_index(st)
    resources: list[Resource] = list(st.local_resources)
    custom = [_custom_opts(st, _custom_images(st, index, r)) for r in st.custom_deploys]
    taken = {r.name for r in resources} | {r.name for r in custom} | {s.name for s in st.compose_services}
    resources += k8s_resources(st, index, taken)
    resources += custom
    resources += compose_resources(st, index)
    seen: dict[str, Resource] = {}
    unique = []
    for r in resources:
        if r.name in seen:
            st.error(f"two resources are named `{r.name}`", r.location,
                     "rename one (local_resource name=, k8s_resource new_name=, dc_resource new_name=)")
            continue
        seen[r.name] = r
        unique.append(r)
    unused_images(st, index)
    _check_live_updates(st, index)
    _check_restart_container(st, unique)
    _check_compose_entrypoints(st, unique)
    if st.compose_services and st.settings.get("default_registry"):
        st.error("default_registry() is not supported with docker_compose()", st.default_registry_location,
                 "Compose builds images locally: remove default_registry()")
    st.images = index.images
    unique = validate_deps(st, unique)
    _enabled(st, seen)
    settings = Settings(**{k: v for k, v in st.settings.items() if k in _SETTING_FIELDS})
    return unique, settings


__all__ = ["K8sSpec", "assemble"]
