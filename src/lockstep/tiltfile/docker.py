"""docker_build() and custom_build(): image targets, attached later to the resources using them.

Argument checks follow Tilt's: a ref that does not parse, the same ref built twice,
`dockerfile` with `dockerfile_contents`, `tag` with `outputs_image_ref_to`, globs in `only`.
"""

from __future__ import annotations

import os

from lockstep.model.resource import ImageTarget
from lockstep.tiltfile import common
from lockstep.tiltfile.args import Args, TiltfileError
from lockstep.tiltfile.images import dockerfile_refs
from lockstep.tiltfile.live_update import steps
from lockstep.tiltfile.local_resource import resolve_patterns
from lockstep.tiltfile.refs import RefError, parse_ref, try_ref
from lockstep.tiltfile.registry import builtin
from lockstep.tiltfile.state import EvalState

DOCKER_BUILD = ("ref context build_args dockerfile dockerfile_contents cache live_update match_in_env_vars "
                "ignore only entrypoint container_args target ssh secret network extra_tag cache_from "
                "pull platform extra_hosts")
CUSTOM_BUILD = ("ref command deps tag disable_push skips_local_docker live_update match_in_env_vars "
                "ignore entrypoint container_args command_bat_val outputs_image_ref_to command_bat "
                "image_deps env dir")


def _check_ref(st: EvalState, a: Args) -> str:
    text = a.string("ref")
    try:
        ref = parse_ref(text)
    except RefError as exc:
        raise TiltfileError(f"{a.fname}(): invalid image ref {text!r}: {exc}",
                            hint='pass an image name such as "myorg/app" (no tag needed)') from None
    for other in st.images:
        if try_ref(other.ref) == ref:
            where = f" at {other.location}" if other.location else ""
            raise TiltfileError(f"{a.fname}(): image `{text}` is already built{where}",
                                hint="build each image ref once; use a different tag or name for a variant")
    return text


def _missing(st: EvalState, a: Args, what: str, path: str, hint: str) -> None:
    if st.dry_run:
        st.missing_inputs.append(path)
        st.warn(f"{a.fname}(): {what} not found: {path} (dry run)", st.call_location)
        return
    raise TiltfileError(f"{a.fname}(): {what} not found: {path}", hint=hint)


@builtin("docker_build", DOCKER_BUILD, 2, located=True)
def _docker_build(st: EvalState, a: Args) -> None:
    import hashlib  # at first use: it loads OpenSSL (3-12 ms of every evaluation child start)
    ref = _check_ref(st, a)
    if a.has("dockerfile") and a.has("dockerfile_contents"):
        raise TiltfileError("docker_build(): `dockerfile` and `dockerfile_contents` cannot both be given",
                            hint="keep one: a path to a Dockerfile, or its text")
    if a.has("cache"):
        st.warn("docker_build(cache=...) is obsolete and has no effect", st.call_location,
                "remove `cache=`; live_update= is the way to speed up builds")
    only = common.patterns(a, "only")
    for path in only:
        if "*" in path:
            raise TiltfileError(f"docker_build(): `only` does not support globs: {path!r}",
                                hint="list real paths (files or directories) under the context")
    for tag in a.str_list("extra_tag"):
        if try_ref(tag) is None:
            raise TiltfileError(f"docker_build(): extra_tag {tag!r} is not a valid image reference",
                                hint='pass a ref such as "myorg/app:dev"')
    context = st.resolve(a.string("context"))
    if os.path.exists(context) and not os.path.isdir(context):
        raise TiltfileError(f"docker_build(): the build context {context} is a file, not a directory",
                            hint="pass the directory that holds the files the Dockerfile copies (often '.')")
    if not os.path.isdir(context):
        _missing(st, a, "build context", context, "fix `context` (relative to this Tiltfile)")
    contents = a.string("dockerfile_contents")
    dockerfile = ""
    if not a.has("dockerfile_contents"):
        dockerfile = st.resolve(a.string("dockerfile")) if a.has("dockerfile") else \
            os.path.join(context, "Dockerfile")
        st.watch(dockerfile)
        if not os.path.isfile(dockerfile):
            _missing(st, a, "Dockerfile", dockerfile,
                     "fix `dockerfile` (relative to this Tiltfile) or pass dockerfile_contents=")
    build_args = a.str_dict("build_args")
    text = contents or _read(dockerfile)
    st.dockerfile_bases[len(st.images)] = tuple(dockerfile_refs(text, build_args))
    st.images.append(ImageTarget(
        ref=ref, context=context, dockerfile=dockerfile, dockerfile_contents=contents,
        build_args=build_args, target=a.string("target"),
        # Tilt: `only` and `ignore` are relative to the context, not to the Tiltfile.
        only=tuple(os.path.normpath(os.path.join(context, p)) for p in only),
        ignore=common.patterns(a, "ignore"), dockerignore=dockerignore_patterns(st, context),
        dockerfile_digest=hashlib.sha256(text.encode()).hexdigest() if dockerfile else "",
        live_update=steps(st, a), entrypoint=_entrypoint(a), platform=a.string("platform"),
        extra_tags=a.str_list("extra_tag"), network=a.string("network"), ssh=a.str_list("ssh"),
        secrets=a.str_list("secret"), cache_from=a.str_list("cache_from"), pull=a.boolean("pull"),
        container_args=a.str_list("container_args") if a.has("container_args") else None,
        extra_hosts=a.str_list("extra_hosts"),
        location=st.call_location, match_in_env_vars=a.boolean("match_in_env_vars"),
    ))


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read()
    except OSError:
        return ""


def dockerignore_patterns(st: EvalState, context: str) -> tuple[str, ...]:
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


@builtin("custom_build", CUSTOM_BUILD, 3, located=True)
def _custom_build(st: EvalState, a: Args) -> None:
    ref = _check_ref(st, a)
    command = a.cmd("command")
    if command.empty and not a.has("command_bat") and not a.has("command_bat_val"):
        raise TiltfileError("custom_build(): `command` is empty",
                            hint="pass the command that builds the image and tags it as $EXPECTED_REF")
    if a.has("tag") and a.has("outputs_image_ref_to"):
        raise TiltfileError("custom_build(): `tag` and `outputs_image_ref_to` cannot both be given",
                            hint="keep `tag` for a fixed tag, or `outputs_image_ref_to` when the command "
                                 "writes the ref it built to a file")
    image_deps = a.str_list("image_deps")
    for dep in image_deps:
        if try_ref(dep) is None:
            raise TiltfileError(f"custom_build(): image_deps entry {dep!r} is not a valid image reference",
                                hint="list the refs of other images this Tiltfile builds")
    workdir = st.resolve(a.string("dir") or ".")
    st.images.append(ImageTarget(
        ref=ref, context=workdir, custom_command=command,
        deps=tuple(st.resolve(d) for d in a.str_list("deps")), tag=a.string("tag"),
        skips_local_docker=a.boolean("skips_local_docker"),
        outputs_image_ref_to=(st.resolve(a.string("outputs_image_ref_to"))
                              if a.string("outputs_image_ref_to") else ""),
        ignore=resolve_patterns(st, common.patterns(a, "ignore")), live_update=steps(st, a),
        entrypoint=_entrypoint(a), env=a.str_dict("env"), location=st.call_location,
        image_deps=image_deps, match_in_env_vars=a.boolean("match_in_env_vars"),
        disable_push=a.boolean("disable_push"),
    ))
