"""Deploy-time image injection: replace the images a Tiltfile builds with the refs just built.

Where Tilt injects, lockstep injects: container (and init/ephemeral container) images of pod
specs, image volumes, container env values when the image was declared with
match_in_env_vars=True, and the fields a k8s_kind()/k8s_image_json_path() locator names in
custom resources. Matching is Tilt's ref-selector rule (`refs.RefSelector`): an untagged
build matches every tag of its repository, a tagged (or exact) one only itself. A matched
container also gets the image's entrypoint=/container_args= as its `command`/`args`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from lockstep.tiltfile.jsonpath import JsonPathError, evaluate
from lockstep.tiltfile.k8s_objects import containers, pod_specs
from lockstep.tiltfile.refs import RefSelector, try_ref

# Injected images carry a content-derived tag, so a node that has one never needs to pull it
# again; `Always` would make a kind-loaded image unpullable. An explicit `Never` is kept.
INJECTED_PULL_POLICY = "IfNotPresent"


@dataclass(frozen=True)
class BuiltImage:
    """An image the Tiltfile builds (`ref`, as written) and the ref the last build produced."""

    ref: str
    built: str
    exact: bool = False
    match_in_env_vars: bool = False
    # docker_build/custom_build(entrypoint=, container_args=): the matching containers'
    # `command` / `args` are replaced, as Tilt does (None: leave the YAML's).
    command: tuple[str, ...] | None = None
    args: tuple[str, ...] | None = None

    def selector(self) -> RefSelector | None:
        parsed = try_ref(self.ref)
        if parsed is None:
            return None
        sel = RefSelector.of(parsed)
        return RefSelector(sel.ref, exact=sel.exact or self.exact)


@dataclass(frozen=True)
class Locator:
    """Where a custom resource keeps an image: a JSONPath to a string, or to an object whose
    `repo_field` and `tag_field` hold the repository and the tag (k8s_kind(image_object=))."""

    json_path: str
    repo_field: str = ""
    tag_field: str = ""


def _match(images: Sequence[BuiltImage], value: object, *, env: bool = False) -> BuiltImage | None:
    if not isinstance(value, str):
        return None
    used = try_ref(value)
    if used is None:
        return None
    for img in images:
        if env and not img.match_in_env_vars:
            continue
        sel = img.selector()
        if sel is not None and sel.matches(used):
            return img
    return None


class _Leaf(str):
    """A string in a shadow copy of the document: identity tells which leaves a path selected."""

    __slots__ = ()


def _shadow(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _shadow(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_shadow(v) for v in node]
    if isinstance(node, str):
        return _Leaf(node)
    return node


def _unshadow(node: Any, selected: set[int], images: Sequence[BuiltImage], hits: list[str]) -> Any:
    if isinstance(node, dict):
        return {k: _unshadow(v, selected, images, hits) for k, v in node.items()}
    if isinstance(node, list):
        return [_unshadow(v, selected, images, hits) for v in node]
    if isinstance(node, _Leaf):
        if id(node) in selected:
            img = _match(images, str(node))
            if img is not None:
                hits.append(img.built)
                return img.built
        return str(node)
    return node


def _inject_path(doc: dict[str, Any], loc: Locator, images: Sequence[BuiltImage], hits: list[str]) -> dict[str, Any]:
    shadow = _shadow(doc)
    try:
        found = evaluate(shadow, loc.json_path)
    except JsonPathError:
        return doc  # reported when the Tiltfile was loaded
    if loc.repo_field:
        for node in found:
            if not isinstance(node, dict):
                continue
            repo, tag = node.get(loc.repo_field), node.get(loc.tag_field)
            ref = str(repo) + (f":{tag}" if isinstance(tag, str) and tag else "") if isinstance(repo, str) else None
            img = _match(images, ref)
            built = try_ref(img.built) if img is not None else None
            if img is not None and built is not None:
                node[loc.repo_field] = _Leaf(built.familiar_name)
                node[loc.tag_field] = _Leaf(built.tag)
                hits.append(img.built)
        return dict(_unshadow(shadow, set(), images, hits))
    selected = {id(n) for n in found if isinstance(n, _Leaf)}
    return dict(_unshadow(shadow, selected, images, hits))


def inject(doc: Mapping[str, Any], images: Sequence[BuiltImage],
           locators: Sequence[Locator] = ()) -> tuple[dict[str, Any], list[str]]:
    """A copy of `doc` with built refs in place; also the refs it put in (empty: nothing matched)."""
    out: dict[str, Any] = copy.deepcopy(dict(doc))
    hits: list[str] = []
    for c in containers(out):
        img = _match(images, c.get("image"))
        if img is not None:
            c["image"] = img.built
            if c.get("imagePullPolicy") != "Never":
                c["imagePullPolicy"] = INJECTED_PULL_POLICY
            if img.command is not None:
                c["command"] = list(img.command)
            if img.args is not None:
                c["args"] = list(img.args)
            hits.append(img.built)
        env = c.get("env")
        for e in env if isinstance(env, list) else []:
            if isinstance(e, dict):
                img = _match(images, e.get("value"), env=True)
                if img is not None:
                    e["value"] = img.built
                    hits.append(img.built)
    for spec in pod_specs(out):
        volumes = spec.get("volumes")
        for v in volumes if isinstance(volumes, list) else []:
            source = v.get("image") if isinstance(v, dict) else None
            if isinstance(source, dict):
                img = _match(images, source.get("reference"))
                if img is not None:
                    source["reference"] = img.built
                    hits.append(img.built)
    for loc in locators:
        out = _inject_path(out, loc, images, hits)
    return out, hits


def refs_used(docs: Sequence[tuple[Mapping[str, Any], Sequence[Locator]]], images: Sequence[BuiltImage]) -> set[str]:
    """Which of `images` (their `ref`) the documents name, by the rules inject() follows:
    each is injected as a marker, and the markers found say which."""
    marked = [replace(img, built="\0" + img.ref) for img in images]
    out: set[str] = set()
    for doc, locators in docs:
        _, hits = inject(doc, marked, locators)
        out.update(h[1:] for h in hits)
    return out
