"""Image builds on the docker CLI, for the resources that deploy images.

`ImageBuilder` builds one image. A resource's images arrive in build order (bases first, as
the loader's image index orders them). Each build yields an immutable, content-derived ref
(`<ref>:tilt-<hash>`), and a Dockerfile that starts `FROM` another image of the Tiltfile is
built on that image's fresh ref. Kubernetes resources use it through `DockerImages` (the
k8s runner's image step); `ImageRunner` is the runner of Compose services: their images,
then the service.

An image whose inputs (the filtered context, the Dockerfile after FROM rewriting, the build
options) are unchanged since its last build here is not rebuilt: a base shared by two
resources is built once per change.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import shutil
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from lockstep.adapters import scratch
from lockstep.adapters.build_context import ContextError, extract_context, fingerprint, write_context
from lockstep.adapters.docker import DockerCli, DockerError, LogFn, build_argv, content_tag, with_tag
from lockstep.adapters.process import LineSink, Stream
from lockstep.engine.image_match import find_built, is_exact
from lockstep.engine.k8s_runner import K8sError
from lockstep.engine.runners import Outcome, UpdateJob
from lockstep.k8s.registry import Registry

if TYPE_CHECKING:
    from lockstep.engine.compose_runtime import Compose
    from lockstep.engine.live_compose import ComposeLive
from lockstep.model.context_filter import ContextFilter
from lockstep.model.resource import ImageTarget
from lockstep.model.update import Outputs

_BASE = re.compile(r"^(\s*FROM\s+(?:--\S+\s+)*)(\S+)|^(\s*COPY\s+(?:--\S+\s+)*?--from=)(\S+)", re.IGNORECASE)


def rewrite_bases(dockerfile: str, built: Mapping[str, str], exact: Mapping[str, bool] | None = None) -> str:
    """Point FROM / COPY --from at the refs just built for images of this Tiltfile (matched as
    the loader matches them: by exact tag where that is the rule, see image_match)."""
    exact = exact or {}

    def swap(m: re.Match[str]) -> str:
        head, ref = (m.group(1), m.group(2)) if m.group(1) is not None else (m.group(3), m.group(4))
        if "$" in ref:
            return m.group(0)
        return head + (find_built(ref, built, exact) or ref)

    return "\n".join(_BASE.sub(swap, line) for line in dockerfile.splitlines()) + "\n"


def _dockerfile(img: ImageTarget) -> str:
    if img.dockerfile_contents:
        return img.dockerfile_contents
    try:
        with open(img.dockerfile, encoding="utf-8") as f:
            return f.read()
    except OSError as exc:
        raise DockerError(f"cannot read the Dockerfile {img.dockerfile}: {exc.strerror}") from exc


class ImageBuilder:
    def __init__(self, cli: DockerCli, registry: Callable[[], Registry | None] = lambda: None) -> None:
        self.cli = cli
        # default_registry(): custom_build scripts are told the registry name to build
        # (and may push) under, as Tilt tells them; docker_build images are renamed when
        # they are delivered (k8s_runner).
        self.registry = registry
        # input digest -> built ref
        self._cache: dict[str, str] = {}
        # Tiltfile ref -> whether it matches only its exact tag (see image_match), for the
        # images a later build of the same update finds in `built`.
        self._exact: dict[str, bool] = {}
        # One build of an image at a time: resources sharing an image that update together
        # (two Compose services of one docker_build) build it once; the others reuse it.
        self._building: dict[str, asyncio.Lock] = {}

    async def build(self, img: ImageTarget, built: Mapping[str, str], log: LogFn) -> str:
        self._exact[img.ref] = is_exact(img)
        lock = self._building.setdefault(img.ref, asyncio.Lock())
        if lock.locked():
            log(f"Image {img.ref}: waiting for the build under way for another resource", False)
        async with lock:
            if img.custom_command is not None:
                return await self._custom(img, built, log)
            return await self._docker(img, built, log)

    async def _docker(self, img: ImageTarget, built: Mapping[str, str], log: LogFn) -> str:
        dockerfile = rewrite_bases(_dockerfile(img), built, self._exact)
        await self.cli.ping()
        builder = await self.cli.builder()
        tmp = scratch.mkdtemp("lockstep-build-", avoid=(img.context,))
        try:
            iidfile = os.path.join(tmp, "iid")
            # Read the files once (off the event loop): what is hashed is what is sent.
            flt = ContextFilter(img)
            try:
                tar = await asyncio.to_thread(write_context, flt, dockerfile, os.path.join(tmp, "ctx.tar"))
            except ContextError as exc:
                raise DockerError(f"docker_build('{img.ref}'): {exc}") from exc
            options = build_argv(img, buildkit=builder.buildkit, iidfile="")[1:]
            key = hashlib.sha256("\0".join([tar.digest, *options]).encode()).hexdigest()
            cached = self._cache.get(key)
            if cached and await self.cli.image_id(cached):
                log(f"Image {img.ref}: inputs unchanged, reusing {cached}", False)
                for extra in img.extra_tags:
                    await self.cli.tag(cached, extra, log)
                return cached
            log(f"Building image {img.ref} ({tar.files} files, {tar.size} bytes of context) "
                f"with {builder.kind.value} ({builder.why})", False)
            # Relative paths in secret=/ssh= (src=...) are the Tiltfile's, as for every other path.
            cwd = os.path.dirname(img.location.file) if img.location is not None else ""
            if builder.buildkit:
                ctx_dir, dockerfile_path = os.path.join(tmp, "ctx"), os.path.join(tmp, "Dockerfile")
                await asyncio.to_thread(extract_context, tar.path, ctx_dir)
                with open(dockerfile_path, "w", encoding="utf-8") as f:
                    f.write(dockerfile)
                argv = build_argv(img, buildkit=True, iidfile=iidfile, client=builder.client,
                                  dockerfile=dockerfile_path, context=ctx_dir)
                code, lines = await self.cli.run(argv, log, env=builder.env, cwd=cwd)
            else:
                argv = build_argv(img, buildkit=False, iidfile=iidfile, client=builder.client)
                code, lines = await self.cli.run(argv, log, stdin_path=tar.path, env=builder.env, cwd=cwd)
            if code != 0:
                tail = next((ln for ln in reversed(lines) if ln.strip()), "")
                try:
                    await self.cli.ping()
                except DockerError as gone:
                    # "unexpected EOF" alone does not say that the daemon died mid-build.
                    raise DockerError(f"docker build of {img.ref} failed (exit {code}: {tail}): {gone}; it "
                                      "stopped answering during the build") from None
                raise DockerError(f"docker build of {img.ref} failed (exit {code}): {tail}")
            with open(iidfile, encoding="utf-8") as f:
                image_id = f.read().strip()
            if tar.moved or await asyncio.to_thread(fingerprint, flt) != tar.stamp:
                # Something was writing the context while it was read and built: the image
                # may hold half of those writes. It gets no tag, so nothing can use it; the
                # writes make the resource stale, and it is rebuilt once they settle.
                raise DockerError(f"the build context of {img.ref} changed while the image was being built: "
                                  "image discarded, it is rebuilt once the writes settle")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        ref = with_tag(img.ref, content_tag(image_id))
        await self.cli.tag(image_id, ref, log)
        for extra in img.extra_tags:
            await self.cli.tag(image_id, extra, log)
        self._cache[key] = ref
        log(f"Image {img.ref} built with {builder.kind.value}", False)
        return ref

    async def _custom(self, img: ImageTarget, built: Mapping[str, str], log: LogFn) -> str:
        assert img.custom_command is not None
        registry = self.registry()
        tag = img.tag or f"tilt-build-{int(time.time())}"
        expected = with_tag(img.ref, tag)
        if registry is not None and not img.tag:
            # A user-chosen tag= is for a script that knows nothing of the registry (Tilt's
            # rule): the image is renamed when delivered. Otherwise the script builds, and
            # may push, under the registry's name.
            expected = registry.local_ref(expected)
        repo, _, actual_tag = expected.rpartition(":")
        env: list[tuple[str, str]] = [("EXPECTED_REF", expected), ("EXPECTED_IMAGE", _path(repo)),
                                      ("EXPECTED_TAG", actual_tag)]
        if registry is not None:
            env += [("EXPECTED_REGISTRY", registry.host), ("REGISTRY_HOST", registry.host)]
        for i, dep in enumerate(img.image_deps):
            ref = find_built(dep, built, self._exact) or dep
            env += [(f"TILT_IMAGE_{i}", ref), (f"TILT_IMAGE_MAP_{i}", dep)]
        env += list(img.env)
        if img.outputs_image_ref_to:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(img.outputs_image_ref_to)
        log(f"Custom build of {img.ref}: EXPECTED_REF={expected}", False)
        code, _ = await self.cli.run(list(img.custom_command.argv), log, cwd=img.context, env=tuple(env))
        if code != 0:
            raise DockerError(f"custom_build command for {img.ref} exited with code {code}")
        if img.outputs_image_ref_to:
            try:
                with open(img.outputs_image_ref_to, encoding="utf-8") as f:
                    result = f.read().strip()
            except OSError as exc:
                raise DockerError(f"custom_build of {img.ref} did not write its ref to "
                                  f"{img.outputs_image_ref_to} (outputs_image_ref_to)") from exc
            if not result:
                raise DockerError(f"custom_build of {img.ref} wrote an empty ref to {img.outputs_image_ref_to}")
            return result
        if img.skips_local_docker:
            # The image lives elsewhere (a remote builder, a registry): trust the command.
            return expected
        image_id = await self.cli.image_id(expected)
        if image_id is None:
            raise DockerError(f"custom_build command for {img.ref} finished but no image {expected} exists: "
                              "the command must build and tag $EXPECTED_REF (or pass skips_local_docker=True)")
        if img.tag:
            return expected  # the user chose the tag: keep it
        ref = with_tag(img.ref, content_tag(image_id))
        if registry is not None:
            ref = registry.local_ref(ref)
        await self.cli.tag(image_id, ref, log)
        return ref


def _path(repo: str) -> str:
    """A repository without its registry domain (`localhost:5000/app` -> `app`)."""
    first, sep, rest = repo.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return rest
    return repo


class DockerImages:
    """The Kubernetes runner's image builder (`image_step.BuildsOneImage`): one image at a
    time on the docker CLI, with its failures in the runner's own error type."""

    def __init__(self, builder: ImageBuilder) -> None:
        self.builder = builder

    async def build(self, img: ImageTarget, built: Mapping[str, str], log: LineSink) -> str:
        try:
            return await self.builder.build(img, built, _by_level(log))
        except DockerError as exc:
            raise K8sError(str(exc)) from exc


class ImageRunner:
    """The runner of Compose services: builds the images a service uses, then runs it."""

    def __init__(self, builder: ImageBuilder, compose: Compose, live: ComposeLive | None = None) -> None:
        self.builder = builder
        self.compose = compose
        # Live update (engine/live_compose.py): tried first; None builds every time.
        self.live = live

    async def run(self, job: UpdateJob, sink: LineSink) -> Outcome:
        log = _by_level(sink)
        if self.live is not None:
            synced = await self.live.try_update(job, log)
            if synced is not None:
                return synced
        outcome = await self._build_and_deploy(job, log)
        return await self.live.after_deploy(job, outcome, log) if self.live is not None else outcome

    async def _build_and_deploy(self, job: UpdateJob, log: LogFn) -> Outcome:
        resource = job.resource
        built: dict[str, str] = {}
        try:
            for img in resource.images:
                built[img.ref] = await self.builder.build(img, built, log)
                log(f"Built {img.ref} as {built[img.ref]}", False)
        except DockerError as exc:
            log(str(exc), True)
            return Outcome(False, str(exc), _outputs(built))
        if resource.compose is None:
            return Outcome(False, f"`{resource.name}` is not a Compose service", _outputs(built))
        return await self.compose.deploy(resource, built, log, _outputs(built))


def _by_level(sink: LineSink) -> LogFn:
    return lambda text, is_error: sink(text, Stream.STDERR if is_error else Stream.STDOUT)


def _outputs(built: Mapping[str, str]) -> Outputs:
    """The refs built, in build order (bases first)."""
    return Outputs(images=tuple(built.values()))
