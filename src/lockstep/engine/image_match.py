"""Which image built in this update a reference means (a `FROM`, an image dep, a service).

The loader's rule (tiltfile/images.py, after Tilt): an image built without a tag matches
every tag of its repository, one built with a tag (or a repository built under several tags:
`match_exact`) only that exact reference. Matching by repository alone would give
`FROM app:v1` whichever `app` was built last.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from lockstep.model.resource import ImageTarget
from lockstep.tiltfile.refs import RefSelector, try_ref


def is_exact(img: ImageTarget) -> bool:
    parsed = try_ref(img.ref)
    return img.match_exact or bool(parsed is not None and parsed.tag)


def find_built(ref: str, built: Mapping[str, str], exact: Mapping[str, bool]) -> str | None:
    """The built ref (`app:tilt-…`) of the first image in `built` whose selector matches `ref`.

    `built` maps each image's Tiltfile ref to its build; `exact` says which of them match
    only their exact reference (missing: by repository)."""
    used = try_ref(ref)
    if used is None:
        return None
    for source, out in built.items():
        parsed = try_ref(source)
        if parsed is not None and RefSelector(parsed, exact.get(source, bool(parsed.tag))).matches(used):
            return out
    return None


def images_named(refs: Iterable[str], images: Sequence[ImageTarget]) -> set[str]:
    """The refs of `images` that some reference in `refs` means."""
    exact = {img.ref: is_exact(img) for img in images}
    own = {img.ref: img.ref for img in images}
    return {found for ref in refs if (found := find_built(ref, own, exact))}
