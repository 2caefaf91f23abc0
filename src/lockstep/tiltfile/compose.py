"""docker_compose() and dc_resource(): one resource per Compose service, read from the YAML.

As in Tilt, a service's `depends_on` become its resource_deps, and a service without an
`image` is known by the name Compose gives the image it builds (`<project>_<service>`), so
a docker_build of that name attaches to it.
"""

from __future__ import annotations

import os
import re

from lockstep.model.resource import Link
from lockstep.tiltfile import common
from lockstep.tiltfile.args import Args, TiltfileError
from lockstep.tiltfile.files import yaml_doc
from lockstep.tiltfile.k8s import is_yaml_text
from lockstep.tiltfile.limits import read_text_file
from lockstep.tiltfile.registry import builtin
from lockstep.tiltfile.state import ComposeService, DcResourceOpts, EvalState


@builtin("docker_compose", "configPaths env_file project_name profiles wait", 1, located=True)
def _docker_compose(st: EvalState, a: Args) -> None:
    value = a.raw("configPaths")
    items = value if isinstance(value, list | tuple) else [value] if value is not None else []
    if not items:
        raise TiltfileError("docker_compose(): nothing to compose: no compose file given",
                            hint="pass docker_compose('docker-compose.yml')")
    files: list[str] = []
    texts: list[tuple[str, str]] = []
    for item in items:
        if not isinstance(item, str):
            raise TiltfileError("docker_compose(): `configPaths` must be paths or YAML",
                                hint="pass docker_compose('docker-compose.yml')")
        if is_yaml_text(st, item):
            texts.append(("<inline compose yaml>", item))
            continue
        path = st.resolve(item)
        st.watch(path)
        files.append(path)
        try:
            texts.append((path, read_text_file(path, "docker_compose()")))
        except OSError:
            if not st.dry_run:
                raise TiltfileError(f"docker_compose(): file not found: {path}",
                                    hint="fix the path (relative to this Tiltfile)") from None
            st.missing_inputs.append(path)
            st.warn(f"docker_compose(): {path} not found (dry run)", st.call_location)
    env_file = st.resolve(a.string("env_file")) if a.has("env_file") and a.string("env_file") else ""
    if env_file:
        st.watch(env_file)
    for param, why in (("profiles", "every service of the files is a resource; disable the ones you do not want"),
                       ("wait", "a service's dependents already wait until it is ready (healthy, with a "
                                "healthcheck)")):
        if a.has(param):
            st.warn(f"docker_compose({param}=...) is ignored by lockstep", st.call_location, why)
    known = {s.name for s in st.compose_services}
    project = a.string("project_name") or _default_project(os.path.dirname(files[0]) if files else st.resolve("."))
    for origin, text in texts:
        doc = yaml_doc(text, f"docker_compose({origin})") or {}
        services = doc.get("services") if isinstance(doc, dict) else None
        if not isinstance(services, dict):
            continue
        for name, svc in services.items():
            svc = svc if isinstance(svc, dict) else {}
            if name in known:
                continue  # a later file overrides fields of the same service (compose merge)
            known.add(str(name))
            st.compose_services.append(ComposeService(
                name=str(name), image=str(svc.get("image", "") or "") or f"{project}_{name}",
                has_build="build" in svc, project_files=tuple(files), location=st.call_location,
                links=tuple(_port_links(svc.get("ports"))), depends_on=_depends_on(svc.get("depends_on")),
                project=project, env_file=env_file,
            ))


def _default_project(directory: str) -> str:
    """Compose's default project name: the first compose file's directory, lower-cased,
    keeping only letters, digits, `_` and `-`."""
    return re.sub(r"[^a-z0-9_-]", "", os.path.basename(directory).lower()) or "default"


def _depends_on(value: object) -> tuple[str, ...]:
    names = list(value) if isinstance(value, dict) else value if isinstance(value, list) else []
    return tuple(sorted({str(n) for n in names}))


def _port_links(ports: object) -> list[Link]:
    links = []
    for port in ports if isinstance(ports, list) else []:
        text = str(port.get("published", "")) if isinstance(port, dict) else str(port)
        host_port = text.split(":")[-2] if text.count(":") >= 1 else ""
        if host_port.isdigit():
            links.append(Link(f"http://localhost:{host_port}/"))
    return links


@builtin("dc_resource", "name image trigger_mode resource_deps infer_links links labels auto_init "
         "project_name new_name", 1, located=True)
def _dc_resource(st: EvalState, a: Args) -> None:
    if not a.string("name"):
        raise TiltfileError("dc_resource(): `name` must not be empty", hint="pass the Compose service name")
    a.string("image")  # accepted as Tilt does (undocumented there); the compose file names the image
    if a.has("infer_links") and not a.boolean("infer_links"):
        st.warn("dc_resource(infer_links=False) is ignored: lockstep always links a service's published ports",
                st.call_location, "drop the argument")
    st.dc_opts.append(DcResourceOpts(
        name=a.string("name"), location=st.call_location,
        new_name=common.name(a, "new_name"), trigger_mode=common.trigger_mode(a),
        auto_init=a.boolean("auto_init") if a.has("auto_init") else None,
        resource_deps=a.str_seq("resource_deps"), links=common.links(a), labels=common.labels(a),
    ))
