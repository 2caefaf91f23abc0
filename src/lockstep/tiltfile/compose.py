"""docker_compose() and dc_resource(): one resource per Compose service, read from the YAML.

As in Tilt, the services a service needs (`depends_on`, `links`, `volumes_from`, `network_mode:
service:…`) become its resource_deps, and a service without an `image` is known by the name
Compose gives the image it builds (`<project>_<service>`), so a docker_build of that name
attaches to it. Several files merge as Compose merges them, and `include:`d files add their
services.
"""

from __future__ import annotations

import json
import os
import re

from lockstep.model.resource import Link
from lockstep.tiltfile import common
from lockstep.tiltfile.args import Args, TiltfileError
from lockstep.tiltfile.docker import dockerignore_patterns
from lockstep.tiltfile.files import yaml_doc
from lockstep.tiltfile.k8s import is_yaml_text
from lockstep.tiltfile.limits import read_text_file
from lockstep.tiltfile.registry import builtin
from lockstep.tiltfile.state import ComposeService, DcResourceOpts, EvalState


@builtin("docker_compose", "configPaths env_file project_name profiles wait", 1, located=True)
def _docker_compose(st: EvalState, a: Args) -> None:
    import hashlib  # at first use: it loads OpenSSL (3-12 ms of every evaluation child start)
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
        files.append(path)
        text = _read_watched(st, path, "", "fix the path (relative to this Tiltfile)")
        if text is not None:
            texts.append((path, text))
    env_file = st.resolve(a.string("env_file")) if a.has("env_file") and a.string("env_file") else ""
    if env_file:
        st.watch(env_file)
    if a.has("wait"):
        st.warn("docker_compose(wait=...) is ignored by lockstep", st.call_location,
                "a service's dependents already wait until it is ready (healthy, with a healthcheck)")
    known = {s.name for s in st.compose_services}
    project_dir = os.path.dirname(files[0]) if files else st.resolve(".")
    services: dict[str, dict[str, object]] = {}
    origins: dict[str, str] = {}  # service -> the directory its relative paths start from
    name_field = ""
    project_hash = hashlib.sha256()
    for origin, text in texts:
        project_hash.update(text.encode() + b"\0")
        doc = yaml_doc(text, f"docker_compose({origin})") or {}
        if not isinstance(doc, dict):
            continue
        name_field = str(doc.get("name") or "") or name_field
        for inc_dir, inc_doc in _included(st, doc, os.path.dirname(origin) if origin in files else project_dir):
            project_hash.update(json.dumps(inc_doc, sort_keys=True, default=str).encode() + b"\0")
            for name, svc in _services(inc_doc).items():
                # An included file defines services; it cannot override the including file's.
                services.setdefault(name, svc)
                origins.setdefault(name, inc_dir)
        for name, svc in _services(doc).items():
            merged = merge_service(services[name], svc) if name in services else svc
            services[name] = merged if isinstance(merged, dict) else svc
            origins.setdefault(name, project_dir)
    project = a.string("project_name") or _default_project(name_field or project_dir, explicit=bool(name_field))
    variables = _variables(st, env_file or os.path.join(project_dir, ".env"))
    active = _active_profiles(st, a)
    services = {n: svc for n, svc in services.items() if _enabled_by(svc.get("profiles"), active)}
    awaited = {dep for svc in services.values() for dep in _completion_deps(svc.get("depends_on"))}
    env_texts = {name: _env_files(st, svc, origins[name]) for name, svc in services.items()}
    project_hash.update(variables.encode())
    for name in sorted(env_texts):
        project_hash.update(env_texts[name].encode() + b"\0")
    project_digest = project_hash.hexdigest()[:16]
    for name, svc in services.items():
        if name in known:
            continue  # already defined by an earlier docker_compose() call
        known.add(name)
        st.compose_services.append(ComposeService(
            name=name, image=str(svc.get("image", "") or "") or f"{project}_{name}",
            has_build="build" in svc, project_files=tuple(files), location=st.call_location,
            links=tuple(_port_links(svc.get("ports"))), depends_on=dependencies(svc),
            project=project, build_context=_build_context(svc.get("build"), origins[name]),
            config_digest=hashlib.sha256((json.dumps(svc, sort_keys=True, default=str) + variables
                                          + env_texts[name]).encode()).hexdigest()[:16],
            project_digest=project_digest,
            ready_when_completed=name in awaited, env_file=env_file,
            build_ignore=_context_ignores(st, _build_context(svc.get("build"), origins[name])),
        ))


def _services(doc: dict[str, object]) -> dict[str, dict[str, object]]:
    services = doc.get("services")
    if not isinstance(services, dict):
        return {}
    return {str(name): svc if isinstance(svc, dict) else {} for name, svc in services.items()}


def _read_watched(st: EvalState, path: str, where: str, hint: str) -> str | None:
    """A compose file's text, watched; a missing one is an error, or in a dry run a missing
    input (None) with a warning."""
    st.watch(path)
    try:
        return read_text_file(path, "docker_compose()")
    except OSError:
        if not st.dry_run:
            raise TiltfileError(f"docker_compose(): file not found: {path}{where}", hint=hint) from None
        st.missing_inputs.append(path)
        st.warn(f"docker_compose(): {path}{where} not found (dry run)", st.call_location)
        return None


def _included(st: EvalState, doc: dict[str, object], base: str,
              depth: int = 0) -> list[tuple[str, dict[str, object]]]:
    """The documents a compose file's `include:` names (Compose 2.20+), depth first; paths are
    relative to the including file."""
    entries = doc.get("include")
    out: list[tuple[str, dict[str, object]]] = []
    for entry in entries if isinstance(entries, list) else []:
        paths = entry.get("path") if isinstance(entry, dict) else entry
        for rel in paths if isinstance(paths, list) else [paths]:
            if not isinstance(rel, str) or not rel:
                continue
            path = os.path.normpath(os.path.join(base, rel))
            text = _read_watched(st, path, " (in `include:`)", "fix the include path (relative to the compose file)")
            if text is None:
                continue
            inc = yaml_doc(text, f"docker_compose({path})") or {}
            if isinstance(inc, dict):
                if depth < _MAX_INCLUDE_DEPTH:
                    out += _included(st, inc, os.path.dirname(path), depth + 1)
                out.append((os.path.dirname(path), inc))
    return out


# Keys whose value a later compose file replaces instead of extending (a command is one value).
_REPLACED = frozenset({"command", "entrypoint", "test"})
_MAX_INCLUDE_DEPTH = 8


def merge_service(base: object, over: object, key: str = "") -> object:
    """Compose's merge of one service across `-f` files, closely enough for what lockstep reads
    (image, build, dependencies, ports) and for noticing an edit: mappings merge by key, lists
    extend, anything else is replaced."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = merge_service(base[k], v, str(k)) if k in base else v
        return out
    if isinstance(base, list) and isinstance(over, list) and key not in _REPLACED:
        return base + [x for x in over if x not in base]
    return over


def dependencies(svc: dict[str, object]) -> tuple[str, ...]:
    """The services this one needs, as Compose orders them: `depends_on`, `links` (`db` or
    `db:alias`), `volumes_from` a service, and `network_mode: service:NAME`."""
    names = set(_depends_on(svc.get("depends_on")))
    links = svc.get("links")
    for link in links if isinstance(links, list) else []:
        names.add(str(link).split(":", 1)[0])
    volumes_from = svc.get("volumes_from")
    for v in volumes_from if isinstance(volumes_from, list) else []:
        if not str(v).startswith("container:"):
            names.add(str(v).split(":", 1)[0])
    network = svc.get("network_mode")
    if isinstance(network, str) and network.startswith("service:"):
        names.add(network.split(":", 1)[1])
    return tuple(sorted(n for n in names if n))


def _variables(st: EvalState, path: str) -> str:
    """The text of the file Compose interpolates `${VAR}` from (env_file=, else the project's
    `.env`), watched: it is part of every service's definition, so an edit to it redeploys
    them (`up` then recreates only the containers whose configuration changed)."""
    st.watch(path)
    try:
        return read_text_file(path, "docker_compose()")
    except OSError:
        return ""


def _env_files(st: EvalState, svc: dict[str, object], origin: str) -> str:
    """The texts of a service's own `env_file:` files, watched: Compose puts their variables
    into the container's environment, so an edit to one changes the service (and an absent
    one, which fails its `up`, is retried once it is created)."""
    value = svc.get("env_file")
    entries = value if isinstance(value, list) else [value] if value is not None else []
    out = []
    for entry in entries:
        # The long form: {path: ..., required: false}.
        path = entry.get("path") if isinstance(entry, dict) else entry
        if not isinstance(path, str) or not path or "$" in path:
            continue
        full = path if os.path.isabs(path) else os.path.normpath(os.path.join(origin, path))
        st.watch(full)
        try:
            out.append(f"{full}\0{read_text_file(full, 'docker_compose()')}")
        except (OSError, TiltfileError):
            out.append(f"{full}\0(unreadable)")  # compose says why when it runs
    return "\0".join(out)


def _active_profiles(st: EvalState, a: Args) -> frozenset[str]:
    """docker_compose(profiles=), else $COMPOSE_PROFILES (comma-separated), as Compose reads them."""
    value = a.raw("profiles") if a.has("profiles") else None
    names = [value] if isinstance(value, str) else list(value) if isinstance(value, list | tuple) else \
        (st.getenv("COMPOSE_PROFILES") or "").split(",")
    return frozenset(str(n).strip() for n in names if str(n).strip())


def _enabled_by(profiles: object, active: frozenset[str]) -> bool:
    """A service without `profiles` always runs; one with them only when one is active (`*`: all)."""
    if not isinstance(profiles, list) or not profiles:
        return True
    return "*" in active or any(str(p) in active for p in profiles)


def _completion_deps(value: object) -> list[str]:
    """The services a `depends_on` map waits on with `condition: service_completed_successfully`."""
    if not isinstance(value, dict):
        return []
    return [str(n) for n, c in value.items()
            if isinstance(c, dict) and c.get("condition") == "service_completed_successfully"]


def _context_ignores(st: EvalState, context: str) -> tuple[str, ...]:
    """The build context's .dockerignore as the resource's own (absolute) ignore patterns, so a
    change Compose would not send does not rebuild. With any `!` exception the file is not
    used: the exceptions cannot be carried over, and without them it would ignore too much."""
    if not context:
        return ()
    patterns = dockerignore_patterns(st, context)
    if any(p.startswith("!") for p in patterns):
        return ()
    return tuple(os.path.normpath(os.path.join(context, p.lstrip("/"))) for p in patterns)


def _build_context(build: object, base: str) -> str:
    """The absolute build context of a `build:` section ("" without one, or for a remote context)."""
    if build is None:
        return ""
    context = build if isinstance(build, str) else build.get("context", ".") if isinstance(build, dict) else "."
    context = str(context or ".")
    if "://" in context or context.startswith("git@"):
        return ""
    return os.path.normpath(os.path.join(base, context))


def _default_project(directory_or_name: str, explicit: bool = False) -> str:
    """Compose's default project name: the top-level `name:` of the files, else the first compose
    file's directory; lower-cased, keeping only letters, digits, `_` and `-`."""
    raw = directory_or_name if explicit else os.path.basename(directory_or_name)
    return re.sub(r"[^a-z0-9_-]", "", raw.lower()) or "default"


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
