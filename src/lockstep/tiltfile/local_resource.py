"""local_resource(): a build command and/or a long-running local server."""

from __future__ import annotations

from lockstep.model.resource import LocalSpec, Resource, ResourceKind
from lockstep.tiltfile import common
from lockstep.tiltfile.args import Args, TiltfileError
from lockstep.tiltfile.probes import as_probe
from lockstep.tiltfile.registry import builtin
from lockstep.tiltfile.state import EvalState

PARAMS = ("name cmd deps trigger_mode resource_deps ignore auto_init serve_cmd cmd_bat serve_cmd_bat "
          "allow_parallel links tags env serve_env readiness_probe dir serve_dir labels")


def resolve_patterns(st: EvalState, patterns: tuple[str, ...]) -> tuple[str, ...]:
    # Ignore patterns are relative to the Tiltfile's directory, like deps.
    return tuple(p if p.startswith(("/", "*")) else st.resolve(p) for p in patterns)


@builtin("local_resource", PARAMS, 1, located=True)
def _local_resource(st: EvalState, a: Args) -> None:
    name = a.string("name")
    if not name:
        raise TiltfileError("local_resource(): `name` must not be empty", hint='pass name="build"')
    if any(r.name == name for r in st.local_resources):
        raise TiltfileError(f"local_resource(): a resource named `{name}` is already defined",
                            hint="give each local_resource a unique name")
    cmd = a.cmd("cmd")
    serve_cmd = a.cmd("serve_cmd")
    workdir = st.resolve(a.string("dir") or ".")
    serve_dir = st.resolve(a.string("serve_dir") or ".")
    mode = common.trigger_mode(a)
    st.local_resources.append(Resource(
        name=name,
        kind=ResourceKind.LOCAL,
        deps=tuple(st.resolve(d) for d in a.str_list("deps")),
        ignore=resolve_patterns(st, a.str_list("ignore")),
        resource_deps=a.str_list("resource_deps"),
        trigger_mode=mode if mode is not None else st.default_trigger_mode,
        auto_init=a.boolean("auto_init", True),
        labels=common.labels(a) + a.str_list("tags"),
        links=common.links(a),
        local=LocalSpec(
            cmd=cmd, dir=workdir, env=a.str_dict("env"),
            serve_cmd=serve_cmd, serve_dir=serve_dir, serve_env=a.str_dict("serve_env"),
            readiness_probe=as_probe(a, "readiness_probe"),
            allow_parallel=a.boolean("allow_parallel", False),
        ),
        location=st.call_location,
    ))
