"""docker_compose() and dc_resource(): one resource per Compose service, read from the YAML."""

from __future__ import annotations

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
    items = value if isinstance(value, list | tuple) else [value]
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
    if a.has("env_file"):
        st.watch(st.resolve(a.string("env_file")))
    known = {s.name for s in st.compose_services}
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
                name=str(name), image=str(svc.get("image", "") or ""), has_build="build" in svc,
                project_files=tuple(files), location=st.call_location,
                links=tuple(_port_links(svc.get("ports"))),
            ))


def _port_links(ports: object) -> list[Link]:
    links = []
    for port in ports if isinstance(ports, list) else []:
        text = str(port.get("published", "")) if isinstance(port, dict) else str(port)
        host_port = text.split(":")[-2] if text.count(":") >= 1 else ""
        if host_port.isdigit():
            links.append(Link(f"http://localhost:{host_port}/"))
    return links


@builtin("dc_resource", "name trigger_mode resource_deps links labels auto_init project_name new_name "
         "infer_links", 1, located=True)
def _dc_resource(st: EvalState, a: Args) -> None:
    st.dc_opts.append(DcResourceOpts(
        name=a.string("name"), location=st.call_location, new_name=a.string("new_name"),
        trigger_mode=common.trigger_mode(a),
        auto_init=a.boolean("auto_init") if a.has("auto_init") else None,
        resource_deps=a.str_list("resource_deps"), links=common.links(a), labels=common.labels(a),
    ))
