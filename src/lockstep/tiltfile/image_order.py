"""Images built from other images of the same Tiltfile.

A `docker_build` whose Dockerfile says `FROM base` (or `COPY --from=base`), where `base` is
another image this Tiltfile builds, depends on it; so does a `custom_build` listing it in
`image_deps`. A resource deploying the dependent image gets the base image too, placed
before it: its update builds the base first, its files trigger the resource, and the
dependent is built on the base's fresh tag.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from lockstep.model.resource import ImageTarget
from lockstep.tiltfile.k8s_objects import refs_match

_FROM = re.compile(r"^\s*FROM\s+(?:--\S+\s+)*(\S+)", re.IGNORECASE)
_COPY_FROM = re.compile(r"^\s*COPY\s+(?:--\S+\s+)*?--from=(\S+)", re.IGNORECASE)


def dockerfile_text(image: ImageTarget) -> str:
    if image.dockerfile_contents:
        return image.dockerfile_contents
    if not image.dockerfile:
        return ""
    try:
        with open(image.dockerfile, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def referenced_refs(dockerfile: str) -> tuple[str, ...]:
    """Image names a Dockerfile builds on (FROM and COPY --from), in order."""
    out: list[str] = []
    for line in dockerfile.splitlines():
        m = _FROM.match(line) or _COPY_FROM.match(line)
        if m and "$" not in m.group(1) and m.group(1).lower() != "scratch":
            out.append(m.group(1))
    return tuple(out)


def base_refs(image: ImageTarget) -> tuple[str, ...]:
    if image.custom_command is not None:
        return image.image_deps
    return referenced_refs(dockerfile_text(image))


def direct_deps(image: ImageTarget, images: Sequence[ImageTarget]) -> tuple[ImageTarget, ...]:
    refs = base_refs(image)
    return tuple(o for o in images if o is not image and o.ref != image.ref
                 and any(refs_match(o.ref, r) for r in refs))


def with_dependencies(images: Sequence[ImageTarget], all_images: Sequence[ImageTarget]) -> tuple[ImageTarget, ...]:
    """`images` plus the images they are built from, each after its own bases.

    A cycle (A FROM B, B FROM A) is not followed twice; docker reports the missing base."""
    out: list[ImageTarget] = []
    visiting: set[str] = set()

    def visit(img: ImageTarget) -> None:
        if img in out or img.ref in visiting:
            return
        visiting.add(img.ref)
        for dep in direct_deps(img, all_images):
            visit(dep)
        visiting.discard(img.ref)
        out.append(img)

    for img in images:
        visit(img)
    return tuple(out)
