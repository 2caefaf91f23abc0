"""local_resource() (and the deprecated test()): a build command and/or a long-running server.

Checks follow Tilt's: a valid name, a `cmd` and/or a `serve_cmd`, `dir`/`serve_dir` only
with the command they apply to, a readiness probe only for a server (else ignored, with
a warning), one resource per name.
"""

from __future__ import annotations

from lockstep.model.resource import LocalSpec, Resource, ResourceKind
from lockstep.tiltfile import common
from lockstep.tiltfile.args import Args, TiltfileError
from lockstep.tiltfile.probes import as_probe
from lockstep.tiltfile.registry import builtin
from lockstep.tiltfile.state import EvalState

PARAMS = ("name cmd deps trigger_mode resource_deps ignore auto_init serve_cmd cmd_bat serve_cmd_bat "
          "allow_parallel links labels env serve_env readiness_probe dir serve_dir tags")


def resolve_patterns(st: EvalState, patterns: tuple[str, ...]) -> tuple[str, ...]:
    # Ignore patterns are relative to the Tiltfile's directory, like deps.
    return tuple(p if p.startswith(("/", "*")) else st.resolve(p) for p in patterns)


def _env(a: Args, key: str) -> tuple[tuple[str, str], ...]:
    env = a.str_dict(key)
    for k, v in env:
        if not k:
            raise TiltfileError(f"{a.fname}(): `{key}` has an empty variable name (value {v!r})",
                                hint=f"pass {key}={{'NAME': 'value'}}")
    return env


def _check(st: EvalState, a: Args) -> str:
    name = common.name(a, "name")
    if not name:
        raise TiltfileError(f"{a.fname}(): `name` must not be empty", hint='pass name="build"')
    if name in st.names_in(st.local_resources):
        raise TiltfileError(f"{a.fname}(): a local_resource named `{name}` already exists",
                            hint="give each local_resource a unique name")
    if name in st.names_in(st.custom_deploys):
        raise TiltfileError(f"{a.fname}(): a k8s resource named `{name}` already exists",
                            hint="give each resource a unique name")
    if name in st.names_in(st.compose_services):
        raise TiltfileError(f"{a.fname}(): a Compose service named `{name}` already exists",
                            hint="give each resource a unique name")
    has_cmd, has_serve = not a.cmd("cmd").empty, not a.cmd("serve_cmd").empty
    if a.has("dir") and not has_cmd:
        if has_serve:
            raise TiltfileError(f"{a.fname}(): `dir` applies to `cmd`, not to `serve_cmd`",
                                hint="use serve_dir= for the server's working directory")
        raise TiltfileError(f"{a.fname}(): `dir` is given but `cmd` is empty",
                            hint="pass the command that runs in that directory, or drop dir=")
    if a.has("serve_dir") and not has_serve:
        raise TiltfileError(f"{a.fname}(): `serve_dir` is given but `serve_cmd` is empty",
                            hint="pass the server command (serve_cmd=), or drop serve_dir=")
    if not has_cmd and not has_serve:
        raise TiltfileError(f"{a.fname}(): needs a `cmd` and/or a `serve_cmd`; both are empty",
                            hint="pass cmd='make build' (runs to completion) or serve_cmd='npm start' "
                                 "(keeps running)")
    return name


def _local_resource(st: EvalState, a: Args, *, parallel_default: bool) -> None:
    name = _check(st, a)
    cmd, serve_cmd = a.cmd("cmd"), a.cmd("serve_cmd")
    probe = as_probe(a, "readiness_probe")
    if probe is not None and serve_cmd.empty:
        st.warn(f"{a.fname}(): readiness_probe of `{name}` is ignored: it has no serve_cmd", st.call_location,
                "a readiness probe checks a server; drop it or add serve_cmd=")
        probe = None
    mode = common.trigger_mode(a)
    st.local_resources.append(Resource(
        name=name,
        kind=ResourceKind.LOCAL,
        deps=tuple(st.resolve(d) for d in a.str_list("deps")),
        ignore=resolve_patterns(st, common.patterns(a, "ignore")),
        resource_deps=a.str_seq("resource_deps"),
        trigger_mode=mode if mode is not None else st.default_trigger_mode,
        auto_init=a.boolean("auto_init", True),
        labels=common.labels(a) + a.str_list("tags"),
        links=common.links(a),
        local=LocalSpec(
            cmd=cmd, dir=st.resolve(a.string("dir") or "."), env=_env(a, "env"),
            serve_cmd=serve_cmd, serve_dir=st.resolve(a.string("serve_dir") or "."),
            serve_env=_env(a, "serve_env"), readiness_probe=probe,
            allow_parallel=a.boolean("allow_parallel", parallel_default),
        ),
        location=st.call_location,
    ))


@builtin("local_resource", PARAMS, 1, located=True)
def _local(st: EvalState, a: Args) -> None:
    _local_resource(st, a, parallel_default=False)


@builtin("test", PARAMS, 1, located=True)
def _test(st: EvalState, a: Args) -> None:
    # Tilt maps its deprecated test() onto local_resource with allow_parallel=True.
    st.warn("test() is deprecated; it is local_resource(..., allow_parallel=True)", st.call_location,
            "change this call to local_resource(..., allow_parallel=True)")
    _local_resource(st, a, parallel_default=True)
