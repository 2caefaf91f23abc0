"""docker_build() and custom_build(): image targets, attached later to the resources using them."""

from __future__ import annotations

import os

from lockstep.model.resource import ImageTarget
from lockstep.tiltfile.args import Args, TiltfileError
from lockstep.tiltfile.live_update import steps
from lockstep.tiltfile.local_resource import resolve_patterns
from lockstep.tiltfile.registry import builtin
from lockstep.tiltfile.state import EvalState

DOCKER_BUILD = ("ref context build_args dockerfile dockerfile_contents live_update match_in_env_vars "
                "ignore only entrypoint target ssh network secret extra_tag container_args cache_from "
                "pull platform extra_hosts")
CUSTOM_BUILD = ("ref command deps tag disable_push skips_local_docker live_update match_in_env_vars "
                "ignore entrypoint command_bat_val outputs_image_ref_to command_bat image_deps env dir")


def _check_ref(a: Args) -> str:
    ref = a.string("ref").strip()
    if not ref or " " in ref:
        raise TiltfileError(f"{a.fname}(): invalid image ref {ref!r}",
                            hint='pass an image name such as "myorg/app" (no tag needed)')
    return ref


def _missing(st: EvalState, a: Args, what: str, path: str, hint: str) -> None:
    if st.dry_run:
        st.missing_inputs.append(path)
        st.warn(f"{a.fname}(): {what} not found: {path} (dry run)", st.call_location)
        return
    raise TiltfileError(f"{a.fname}(): {what} not found: {path}", hint=hint)


@builtin("docker_build", DOCKER_BUILD, 2, located=True)
def _docker_build(st: EvalState, a: Args) -> None:
    ref = _check_ref(a)
    context = st.resolve(a.string("context"))
    if not os.path.isdir(context):
        _missing(st, a, "build context", context, "fix `context` (relative to this Tiltfile)")
    contents = a.string("dockerfile_contents")
    dockerfile = ""
    if not contents:
        dockerfile = st.resolve(a.string("dockerfile")) if a.has("dockerfile") else \
            os.path.join(context, "Dockerfile")
        st.watch(dockerfile)
        if not os.path.isfile(dockerfile):
            _missing(st, a, "Dockerfile", dockerfile,
                     "fix `dockerfile` (relative to this Tiltfile) or pass dockerfile_contents=")
    st.images.append(ImageTarget(
        ref=ref, context=context, dockerfile=dockerfile, dockerfile_contents=contents,
        build_args=a.str_dict("build_args"), target=a.string("target"),
        # Tilt: `only` and `ignore` are relative to the context, not to the Tiltfile.
        only=tuple(os.path.normpath(os.path.join(context, p)) for p in a.str_list("only")),
        ignore=a.str_list("ignore"), dockerignore=_dockerignore(st, context),
        live_update=steps(a), entrypoint=_entrypoint(a), platform=a.string("platform"),
        extra_tags=a.str_list("extra_tag"), network=a.string("network"), ssh=a.str_list("ssh"),
        secrets=a.str_list("secret"), cache_from=a.str_list("cache_from"), pull=a.boolean("pull"),
        container_args=a.str_list("container_args") if a.has("container_args") else None,
        match_in_env_vars=a.boolean("match_in_env_vars"), extra_hosts=a.str_list("extra_hosts"),
        location=st.call_location,
    ))


def _dockerignore(st: EvalState, context: str) -> tuple[str, ...]:
    """The context's .dockerignore patterns. Read here, so that an edit to it re-evaluates
    the Tiltfile and changes the image's definition (which rebuilds it)."""
    path = os.path.join(context, ".dockerignore")
    st.watch(path)
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return ()
    return tuple(s for s in (line.strip() for line in lines) if s and not s.startswith("#"))


def _entrypoint(a: Args) -> tuple[str, ...]:
    cmd = a.cmd("entrypoint")
    return cmd.argv


@builtin("custom_build", CUSTOM_BUILD, 2, located=True)
def _custom_build(st: EvalState, a: Args) -> None:
    ref = _check_ref(a)
    command = a.cmd("command")
    if command.empty and not a.has("command_bat"):
        raise TiltfileError("custom_build(): `command` is empty",
                            hint="pass the command that builds the image and tags it as $EXPECTED_REF")
    workdir = st.resolve(a.string("dir") or ".")
    st.images.append(ImageTarget(
        ref=ref, context=workdir, custom_command=command,
        deps=tuple(st.resolve(d) for d in a.str_list("deps")), tag=a.string("tag"),
        skips_local_docker=a.boolean("skips_local_docker"),
        outputs_image_ref_to=(st.resolve(a.string("outputs_image_ref_to"))
                              if a.string("outputs_image_ref_to") else ""),
        ignore=resolve_patterns(st, a.str_list("ignore")), live_update=steps(a),
        entrypoint=_entrypoint(a),
        disable_push=a.boolean("disable_push"), image_deps=a.str_list("image_deps"), env=a.str_dict("env"),
        match_in_env_vars=a.boolean("match_in_env_vars"),
        location=st.call_location,
    ))
