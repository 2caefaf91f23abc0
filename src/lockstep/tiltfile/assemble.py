"""After evaluation: group k8s objects into resources, attach images, build compose
resources, then validate the graph (unknown or cyclic resource_deps)."""

from __future__ import annotations

from dataclasses import replace

from lockstep.model import graph
from lockstep.model.resource import (
    ComposeSpec,
    ImageTarget,
    K8sSpec,
    Resource,
    ResourceKind,
    Settings,
    SourceLocation,
)
from lockstep.tiltfile.args import closest
from lockstep.tiltfile.image_order import with_dependencies
from lockstep.tiltfile.k8s_assign import k8s_resources
from lockstep.tiltfile.k8s_objects import refs_match
from lockstep.tiltfile.state import EvalState

_SETTING_FIELDS = set(Settings.__dataclass_fields__)


def not_found(st: EvalState, message: str, location: SourceLocation | None, hint: str) -> None:
    """An unknown name is an error, or a warning when a dry run could not read some input
    (the name may well be defined by the YAML or file it could not see)."""
    if st.dry_run and st.missing_inputs:
        st.warn(message + " (dry run: some inputs were missing)", location, hint)
    else:
        st.error(message, location, hint)


def _images_for(st: EvalState, refs: tuple[str, ...]) -> tuple[ImageTarget, ...]:
    return tuple(img for img in st.images if any(refs_match(img.ref, r) for r in refs))


def compose_resources(st: EvalState) -> list[Resource]:
    out: dict[str, Resource] = {}
    for svc in st.compose_services:
        images = _images_for(st, (svc.image,)) if svc.image else ()
        out[svc.name] = Resource(
            name=svc.name, kind=ResourceKind.COMPOSE, trigger_mode=st.default_trigger_mode,
            links=svc.links, images=images, location=svc.location,
            compose=ComposeSpec(svc.project_files, svc.name, tuple(i.ref for i in images)),
        )
    for opts in st.dc_opts:
        r = out.get(opts.name)
        if r is None:
            match = closest(opts.name, out)
            not_found(st, f"dc_resource(): no Compose service named `{opts.name}`", opts.location,
                      f"did you mean `{match}`?" if match else "check the service names in the compose file")
            continue
        r = replace(
            r, trigger_mode=opts.trigger_mode or r.trigger_mode,
            auto_init=r.auto_init if opts.auto_init is None else opts.auto_init,
            resource_deps=r.resource_deps + opts.resource_deps, links=r.links + opts.links,
            labels=r.labels + opts.labels, location=opts.location or r.location)
        if opts.new_name:
            del out[opts.name]
            r = replace(r, name=opts.new_name)
        out[r.name] = r
    return list(out.values())


def _attach_custom_images(st: EvalState, r: Resource) -> Resource:
    if r.k8s is None or not r.k8s.image_refs:
        return r
    return replace(r, images=_images_for(st, r.k8s.image_refs))


def _custom_opts(st: EvalState, r: Resource) -> Resource:
    """k8s_resource() may configure a k8s_custom_deploy resource by its name, as in Tilt."""
    mine = [o for o in st.k8s_opts if o.workload == r.name]
    st.k8s_opts = [o for o in st.k8s_opts if o.workload != r.name]
    for o in mine:
        r = replace(
            r, name=o.new_name or r.name, trigger_mode=o.trigger_mode or r.trigger_mode,
            auto_init=r.auto_init if o.auto_init is None else o.auto_init,
            resource_deps=r.resource_deps + o.resource_deps, links=r.links + o.links,
            labels=r.labels + o.labels,
            k8s=replace(r.k8s, port_forwards=r.k8s.port_forwards + o.port_forwards) if r.k8s else r.k8s)
    return r


def _check_unused_images(st: EvalState, resources: list[Resource]) -> None:
    used = {img.ref for r in resources for img in r.images}
    suppressed = set(st.settings.get("suppress_unused_image_warnings", ()))
    for img in st.images:
        if img.ref not in used and img.ref not in suppressed and "*" not in suppressed:
            # Images may also be consumed by another image or an extension's custom deploy.
            st.warn(f"image `{img.ref}` is built but no resource uses it", img.location,
                    "reference it from a k8s/compose config, or drop the build")


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


def assemble(st: EvalState) -> tuple[list[Resource], Settings]:
    resources: list[Resource] = list(st.local_resources)
    custom = [_attach_custom_images(st, _custom_opts(st, r)) for r in st.custom_deploys]
    resources += k8s_resources(st)
    resources += custom
    resources += compose_resources(st)
    seen: dict[str, Resource] = {}
    unique = []
    for r in resources:
        if r.name in seen:
            st.error(f"two resources are named `{r.name}`", r.location,
                     "rename one (local_resource name=, k8s_resource new_name=, dc_resource new_name=)")
            continue
        seen[r.name] = r
        unique.append(r)
    # A resource also builds the images its images are built from (FROM another image here).
    unique = [replace(r, images=with_dependencies(r.images, st.images)) if r.images else r for r in unique]
    _check_unused_images(st, unique)
    unique = validate_deps(st, unique)
    if st.enabled_resources is None and st.args and not st.config_parsed:
        # Tilt's rule: without config.parse(), extra arguments name the resources to run.
        st.enabled_resources = st.args
    if st.enabled_resources:
        for name in st.enabled_resources:
            if name not in seen:
                match = closest(name, list(seen))
                not_found(st, f"enabled resource `{name}` does not exist", None,
                          f"did you mean `{match}`?" if match else "check the resource names")
    settings = Settings(**{k: v for k, v in st.settings.items() if k in _SETTING_FIELDS})
    return unique, settings


__all__ = ["K8sSpec", "assemble"]
