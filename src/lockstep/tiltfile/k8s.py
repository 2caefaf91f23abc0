"""Kubernetes builtins: k8s_yaml, k8s_resource, k8s_kind, k8s_image_json_path, k8s_custom_deploy,
port_forward. Objects are recorded as given; grouping into resources happens in `assemble`,
after evaluation, because Tilt lets k8s_resource() refer to YAML registered later.
"""

from __future__ import annotations

import os
import re

from lockstep.model.resource import DiscoveryStrategy, K8sSpec, PodReadiness, PortForward, Resource, ResourceKind
from lockstep.tiltfile import common
from lockstep.tiltfile.args import Args, TiltfileError
from lockstep.tiltfile.files import yaml_docs
from lockstep.tiltfile.jsonpath import JsonPathError, compile_path
from lockstep.tiltfile.k8s_objects import flatten, to_object
from lockstep.tiltfile.limits import read_text_file
from lockstep.tiltfile.live_update import steps
from lockstep.tiltfile.refs import try_ref
from lockstep.tiltfile.registry import builtin
from lockstep.tiltfile.state import EvalState, K8sObjectEntry, K8sResourceOpts, KindInfo
from lockstep.tiltfile.values import value_struct


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
    count = 0
    inputs = yaml_inputs(st, a, "yaml") if a.has("yaml") else []
    for origin, text in inputs:
        for doc in flatten(yaml_docs(text, f"k8s_yaml({origin})")):
            obj = to_object(doc)
            key = (obj.kind.lower(), obj.name, obj.namespace)
            if key in seen and not allow_dup:
                raise TiltfileError(
                    f"k8s_yaml(): duplicate object {obj.name} ({obj.kind}) registered twice",
                    hint="remove the duplicate, or pass allow_duplicates=True")
            seen.add(key)
            st.k8s_objects.append(K8sObjectEntry(obj, doc, st.call_location))
            count += 1
    if count == 0 and not (st.dry_run and st.missing_inputs) and (not inputs or inputs[0][0] == "<yaml>"):
        # As Tilt: nothing at all, or YAML text (a blob, local() output) without a single
        # object, is a mistake; a file that holds no objects (yet) is accepted.
        raise TiltfileError("k8s_yaml(): empty YAML: no Kubernetes objects were passed",
                            hint="pass a YAML file (or text) containing at least one object")


_HOST = re.compile(r"^(([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])\.){3}"
                   r"([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])$"
                   r"|^(([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])\.)*"
                   r"([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])$")


def _port(fname: str, text: str) -> int:
    if not text.strip().isdigit() or not 0 <= int(text) <= 65535:
        raise TiltfileError(f"{fname}(): port {text!r} is not in the valid range 0-65535",
                            hint="use 8080, '8080:80', 'host:8080:80' or port_forward(8080, 80)")
    return int(text)


def _forward(fname: str, item: object) -> PortForward:
    if isinstance(item, PortForward):
        return item
    if isinstance(item, int) and not isinstance(item, bool):
        # The container port stays open (0): the runtime picks it from the pod, as Tilt does.
        return PortForward(_port(fname, str(item)), 0)
    if isinstance(item, str):
        parts = item.split(":", 2)
        host = ""
        if len(parts) == 3:
            host = parts.pop(0)
            if not _HOST.match(host):
                raise TiltfileError(f"{fname}(): port forward {item!r}: host {host!r} is not a valid "
                                    "hostname or IP address", hint="e.g. 'localhost:8080:80' or '0.0.0.0:8080:80'")
        local = _port(fname, parts[0])
        container = _port(fname, parts[1]) if len(parts) > 1 else 0
        return PortForward(local, container, host=host)
    raise TiltfileError(f"{fname}(): invalid port forward {item!r}",
                        hint="use 8080, '8080:80', 'host:8080:80' or port_forward(8080, 80)")


def port_forwards(a: Args) -> tuple[PortForward, ...]:
    return tuple(_forward(a.fname, item) for item in a.items("port_forwards"))


@builtin("port_forward", "local_port container_port name link_path host", 1, struct=True)
def _port_forward(st: EvalState, a: Args) -> object:
    local = _port("port_forward", str(a.integer("local_port")))
    container = _port("port_forward", str(a.integer("container_port"))) if a.has("container_port") else 0
    host = a.string("host")
    if host and not _HOST.match(host):
        raise TiltfileError(f"port_forward(): host {host!r} is not a valid hostname or IP address",
                            hint="e.g. host='localhost'")
    return value_struct(PortForward(local, container, host=host, name=a.string("name"),
                                    link_path=a.string("link_path")),
                        local_port=local, container_port=container, name=a.string("name"),
                        link_path=a.string("link_path"), host=host)


def _selectors(a: Args) -> tuple[tuple[tuple[str, str], ...], ...]:
    value = a.raw("extra_pod_selectors")
    items = value if isinstance(value, list) else [value] if value else []
    out = []
    for item in items:
        if not isinstance(item, dict):
            raise TiltfileError("k8s_resource(): extra_pod_selectors must be dicts of labels",
                                hint="pass extra_pod_selectors=[{'app': 'web'}]")
        for k, v in item.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise TiltfileError(f"k8s_resource(): pod label {k!r}: {v!r} must be strings",
                                    hint="pass extra_pod_selectors=[{'app': 'web'}]")
        if item:
            out.append(tuple((str(k), str(v)) for k, v in item.items()))
    return tuple(out)


@builtin("k8s_resource", "workload new_name port_forwards extra_pod_selectors trigger_mode resource_deps "
         "objects auto_init links labels discovery_strategy pod_readiness", located=True)
def _k8s_resource(st: EvalState, a: Args) -> None:
    workload, new_name = common.name(a, "workload"), common.name(a, "new_name")
    if not workload and not new_name:
        raise TiltfileError("k8s_resource(): pass `workload` (an existing resource) or `new_name`",
                            hint="e.g. k8s_resource('api', port_forwards=8080)")
    objects = a.str_seq("objects")
    if not workload and not objects:
        raise TiltfileError(f"k8s_resource(): `new_name={new_name!r}` without a workload needs objects=",
                            hint="name the workload to rename as the first argument, or list the "
                                 "objects the new resource groups: objects=['my-config:configmap']")
    st.k8s_opts.append(K8sResourceOpts(
        workload=workload, new_name=new_name, location=st.call_location,
        port_forwards=port_forwards(a), extra_pod_selectors=_selectors(a),
        trigger_mode=common.trigger_mode(a),
        auto_init=a.boolean("auto_init") if a.has("auto_init") else None,
        resource_deps=a.str_seq("resource_deps"), objects=objects,
        links=common.links(a), labels=common.labels(a),
        discovery_strategy=a.choice("discovery_strategy", DiscoveryStrategy),
        pod_readiness=a.choice("pod_readiness", PodReadiness),
    ))


def _json_paths(a: Args, name: str) -> tuple[str, ...]:
    paths = a.str_list(name)
    for path in paths:
        try:
            compile_path(path)
        except JsonPathError as exc:
            raise TiltfileError(f"{a.fname}(): invalid JSONPath: {exc}",
                                hint="e.g. '{.spec.image}' or \"{.spec.containers[?(@.name=='web')].image}\"") from None
    return paths


def _image_object(a: Args) -> tuple[tuple[str, str, str], ...]:
    value = a.raw("image_object")
    if value is None:
        return ()
    fields = ("json_path", "repo_field", "tag_field")
    if not isinstance(value, dict) or set(value) != set(fields) or \
            not all(isinstance(value[f], str) for f in fields):
        raise TiltfileError("k8s_kind(): `image_object` must be a dict with exactly the string keys "
                            "json_path, repo_field and tag_field",
                            hint="image_object={'json_path': '{.spec.image}', 'repo_field': 'repository', "
                                 "'tag_field': 'tag'}")
    _json_paths(Args(a.fname, {"image_object.json_path": value["json_path"]}), "image_object.json_path")
    return ((str(value["json_path"]), str(value["repo_field"]), str(value["tag_field"])),)


def _kind_info(st: EvalState, key: KindInfo) -> KindInfo:
    return st.k8s_kinds.setdefault(key.key, key)


# Tilt wants image_json_path by keyword: k8s_kind("Env", "{.a}") reads too much like a pair.
@builtin("k8s_kind", "kind image_json_path api_version image_object pod_readiness", 1, positional=1)
def _k8s_kind(st: EvalState, a: Args) -> None:
    if a.has("image_json_path") and a.has("image_object"):
        raise TiltfileError("k8s_kind(): `image_json_path` and `image_object` cannot both be given",
                            hint="use image_object= when the repository and tag are separate fields")
    paths, objects = _json_paths(a, "image_json_path"), _image_object(a)
    info = _kind_info(st, KindInfo(kind=a.string("kind"), api_version=a.string("api_version")))
    if paths:
        info.image_json_paths, info.image_objects = paths, ()
    elif objects:
        info.image_json_paths, info.image_objects = (), objects
    readiness = a.choice("pod_readiness", PodReadiness)
    if readiness is not None:
        info.pod_readiness = readiness


@builtin("k8s_image_json_path", "paths api_version kind name namespace", 1)
def _k8s_image_json_path(st: EvalState, a: Args) -> None:
    if not (a.string("kind") or a.string("name") or a.string("namespace")):
        raise TiltfileError("k8s_image_json_path(): give at least one of kind, name or namespace",
                            hint="e.g. k8s_image_json_path('{.spec.image}', kind='Environment')")
    info = _kind_info(st, KindInfo(kind=a.string("kind"), api_version=a.string("api_version"),
                                   name=a.string("name"), namespace=a.string("namespace")))
    info.image_json_paths = _json_paths(a, "paths")


@builtin("k8s_custom_deploy", "name apply_cmd delete_cmd deps image_selector live_update apply_dir "
         "apply_env apply_cmd_bat delete_dir delete_env delete_cmd_bat container_selector image_deps",
         4, located=True)
def _k8s_custom_deploy(st: EvalState, a: Args) -> None:
    name = common.name(a, "name")
    apply_cmd, delete_cmd = a.cmd("apply_cmd"), a.cmd("delete_cmd")
    if apply_cmd.empty and not a.has("apply_cmd_bat"):
        raise TiltfileError("k8s_custom_deploy(): `apply_cmd` cannot be empty",
                            hint="pass the command that applies the objects and prints them as YAML")
    if delete_cmd.empty and not a.has("delete_cmd_bat"):
        raise TiltfileError("k8s_custom_deploy(): `delete_cmd` cannot be empty",
                            hint="pass the command that deletes what apply_cmd created")
    live = steps(st, a)  # validated here; live update belongs to the image target the engine builds
    selector = a.string("image_selector")
    if live and bool(selector) == a.has("container_selector"):
        raise TiltfileError("k8s_custom_deploy(): live_update needs exactly one of image_selector= "
                            "or container_selector=", hint="name the image (or container) to live-update")
    for dep in a.str_list("image_deps"):
        if try_ref(dep) is None:
            raise TiltfileError(f"k8s_custom_deploy(): image_deps entry {dep!r} is not a valid image reference",
                                hint="list the refs of images this Tiltfile builds")
    if name in st.names_in(st.local_resources) or name in st.names_in(st.custom_deploys):
        raise TiltfileError(f"k8s_custom_deploy(): a resource named `{name}` already exists",
                            hint="give each resource a unique name")
    st.custom_image_deps[name] = a.str_list("image_deps")
    # The live-update image selector comes last: it need not be built by the Tiltfile.
    images: tuple[str, ...] = a.str_list("image_deps") + ((selector,) if selector else ())
    st.custom_deploys.append(Resource(
        name=name, kind=ResourceKind.K8S,
        deps=tuple(st.resolve(d) for d in a.str_list("deps")),
        trigger_mode=st.default_trigger_mode,
        k8s=K8sSpec(apply_cmd=apply_cmd, delete_cmd=delete_cmd,
                    apply_dir=st.resolve(a.string("apply_dir") or "."),
                    apply_env=a.str_dict("apply_env"), image_refs=images,
                    delete_dir=st.resolve(a.string("delete_dir") or "."), delete_env=a.str_dict("delete_env")),
        location=st.call_location,
    ))
