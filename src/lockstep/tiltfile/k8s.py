"""Kubernetes builtins: k8s_yaml, k8s_resource, k8s_kind, k8s_image_json_path, k8s_custom_deploy,
port_forward. Objects are recorded as given; grouping into resources happens in `assemble`,
after evaluation, because Tilt lets k8s_resource() refer to YAML registered later.
"""

from __future__ import annotations

import os

import starlark as sl

from lockstep.model.resource import K8sSpec, PortForward, Resource, ResourceKind
from lockstep.tiltfile import common
from lockstep.tiltfile.args import Args, TiltfileError
from lockstep.tiltfile.files import yaml_docs
from lockstep.tiltfile.k8s_objects import flatten, to_object
from lockstep.tiltfile.limits import read_text_file
from lockstep.tiltfile.live_update import steps
from lockstep.tiltfile.registry import builtin
from lockstep.tiltfile.state import (
    EvalState,
    ImageJsonPath,
    K8sObjectEntry,
    K8sResourceOpts,
    KindInfo,
)


def is_yaml_text(st: EvalState, value: str) -> bool:
    """Tilt tells a path from YAML by type (str vs blob); blobs are strings here, so by content."""
    if value in st.blobs or "\n" in value or not value.strip():
        return True
    return value.lstrip().startswith(("apiVersion", "kind:", "---", "{"))


def yaml_inputs(st: EvalState, a: Args, name: str) -> list[tuple[str, str]]:
    """(origin, text) pairs for a string, a blob, or a list of them."""
    value = a.raw(name)
    items = value if isinstance(value, list | tuple) else [value]
    out: list[tuple[str, str]] = []
    for item in items:
        if not isinstance(item, str):
            raise TiltfileError(f"{a.fname}(): `{name}` must be a path, YAML text, or a list of them",
                                hint=f"pass {name}='k8s/app.yaml' or {name}=read_file(...)")
        if is_yaml_text(st, item):
            if st.dry_run and not item.strip():
                # Output of a command the dry run did not execute: the YAML is unknown.
                st.missing_inputs.append("<command output>")
            out.append(("<yaml>", item))
            continue
        path = st.resolve(item)
        st.watch(path)
        if os.path.isdir(path):
            for fname in sorted(os.listdir(path)):
                if fname.endswith((".yaml", ".yml")):
                    out.append(_read(st, a, os.path.join(path, fname)))
            continue
        out.append(_read(st, a, path))
    return out


def _read(st: EvalState, a: Args, path: str) -> tuple[str, str]:
    st.watch(path)
    try:
        return path, read_text_file(path, f"{a.fname}()")
    except OSError:
        if st.dry_run:
            st.missing_inputs.append(path)
            st.warn(f"{a.fname}(): {path} not found; reading it as empty (dry run)", st.call_location)
            return path, ""
        raise TiltfileError(f"{a.fname}(): file not found: {path}",
                            hint="fix the path (relative to this Tiltfile) or create the file") from None


@builtin("k8s_yaml", "yaml allow_duplicates", 1, located=True)
def _k8s_yaml(st: EvalState, a: Args) -> None:
    allow_dup = a.boolean("allow_duplicates")
    seen = {(e.obj.kind.lower(), e.obj.name, e.obj.namespace) for e in st.k8s_objects}
    for origin, text in yaml_inputs(st, a, "yaml"):
        for doc in flatten(yaml_docs(text, f"k8s_yaml({origin})")):
            obj = to_object(doc)
            key = (obj.kind.lower(), obj.name, obj.namespace)
            if key in seen and not allow_dup:
                raise TiltfileError(
                    f"k8s_yaml(): duplicate object {obj.name} ({obj.kind}) registered twice",
                    hint="remove the duplicate, or pass allow_duplicates=True")
            seen.add(key)
            st.k8s_objects.append(K8sObjectEntry(obj, doc, st.call_location))


def port_forwards(a: Args) -> tuple[PortForward, ...]:
    out = []
    for item in a.items("port_forwards"):
        if isinstance(item, PortForward):
            out.append(item)
        elif isinstance(item, int) and not isinstance(item, bool):
            out.append(PortForward(item, item))
        elif isinstance(item, str) and all(p.isdigit() for p in item.split(":")[-2:]) and item:
            parts = item.split(":")
            if len(parts) == 1:
                out.append(PortForward(int(parts[0]), int(parts[0])))
            elif len(parts) == 2:
                out.append(PortForward(int(parts[0]), int(parts[1])))
            else:
                out.append(PortForward(int(parts[-2]), int(parts[-1]), host=":".join(parts[:-2])))
        else:
            raise TiltfileError(f"{a.fname}(): invalid port forward {item!r}",
                                hint="use 8080, '8080:80', 'host:8080:80' or port_forward(8080, 80)")
    return tuple(out)


@builtin("port_forward", "local_port container_port name link_path host", 1)
def _port_forward(st: EvalState, a: Args) -> object:
    local = a.integer("local_port")
    return sl.OpaquePythonObject(PortForward(local, a.integer("container_port", local), host=a.string("host"),
                                             name=a.string("name"), link_path=a.string("link_path")))


def _selectors(a: Args) -> tuple[tuple[tuple[str, str], ...], ...]:
    value = a.raw("extra_pod_selectors")
    items = value if isinstance(value, list) else [value] if value else []
    out = []
    for item in items:
        if not isinstance(item, dict):
            raise TiltfileError("k8s_resource(): extra_pod_selectors must be dicts of labels",
                                hint="pass extra_pod_selectors=[{'app': 'web'}]")
        out.append(tuple((str(k), str(v)) for k, v in item.items()))
    return tuple(out)


@builtin("k8s_resource", "workload new_name port_forwards extra_pod_selectors trigger_mode resource_deps "
         "objects auto_init links labels discovery_strategy pod_readiness", located=True)
def _k8s_resource(st: EvalState, a: Args) -> None:
    workload, new_name = a.string("workload"), a.string("new_name")
    if not workload and not new_name:
        raise TiltfileError("k8s_resource(): pass `workload` (an existing resource) or `new_name`",
                            hint="e.g. k8s_resource('api', port_forwards=8080)")
    st.k8s_opts.append(K8sResourceOpts(
        workload=workload, new_name=new_name, location=st.call_location,
        port_forwards=port_forwards(a), extra_pod_selectors=_selectors(a),
        trigger_mode=common.trigger_mode(a),
        auto_init=a.boolean("auto_init") if a.has("auto_init") else None,
        resource_deps=a.str_list("resource_deps"), objects=a.str_list("objects"),
        links=common.links(a), labels=common.labels(a),
        discovery_strategy=a.string("discovery_strategy"), pod_readiness=a.string("pod_readiness"),
    ))


@builtin("k8s_kind", "kind api_version image_json_path image_object pod_readiness", 1)
def _k8s_kind(st: EvalState, a: Args) -> None:
    kind = a.string("kind")
    st.k8s_kinds[kind.lower()] = KindInfo(kind, a.string("api_version"), a.str_list("image_json_path"),
                                          a.string("pod_readiness"))


@builtin("k8s_image_json_path", "paths api_version kind name namespace", 1)
def _k8s_image_json_path(st: EvalState, a: Args) -> None:
    st.image_json_paths.append(ImageJsonPath(a.str_list("paths"), a.string("api_version"), a.string("kind"),
                                             a.string("name"), a.string("namespace")))


@builtin("k8s_custom_deploy", "name apply_cmd delete_cmd deps image_selector live_update apply_dir "
         "apply_env apply_cmd_bat delete_dir delete_env delete_cmd_bat container_selector image_deps",
         1, located=True)
def _k8s_custom_deploy(st: EvalState, a: Args) -> None:
    apply_cmd, delete_cmd = a.cmd("apply_cmd"), a.cmd("delete_cmd")
    if apply_cmd.empty and not a.has("apply_cmd_bat"):
        raise TiltfileError("k8s_custom_deploy(): `apply_cmd` is required",
                            hint="pass the command that applies the objects and prints them as YAML")
    steps(a)  # validated here; live update belongs to the image target the engine builds
    selector = a.string("image_selector")
    images: tuple[str, ...] = a.str_list("image_deps") + ((selector,) if selector else ())
    st.custom_deploys.append(Resource(
        name=a.string("name"), kind=ResourceKind.K8S,
        deps=tuple(st.resolve(d) for d in a.str_list("deps")),
        trigger_mode=st.default_trigger_mode,
        k8s=K8sSpec(apply_cmd=apply_cmd, delete_cmd=delete_cmd,
                    apply_dir=st.resolve(a.string("apply_dir") or "."),
                    apply_env=a.str_dict("apply_env"), image_refs=images),
        location=st.call_location,
    ))


