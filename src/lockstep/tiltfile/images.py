"""The images a Tiltfile builds, which uses consume them, and what each is built from.

Tilt's build index, after evaluation: every docker_build/custom_build is a selector (see
`refs`); a use (a container image in YAML, a Compose service, a Dockerfile `FROM`, a
custom_build `image_deps` entry) consumes the first image whose selector matches. An
image built FROM another image of the Tiltfile depends on it: a resource that deploys the
derived image gets the base image too, ordered first, and the base counts as used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from lockstep.model.resource import ImageTarget
from lockstep.tiltfile.args import closest
from lockstep.tiltfile.refs import ImageRef, RefSelector, try_ref
from lockstep.tiltfile.state import EvalState


def dockerfile_refs(text: str, build_args: tuple[tuple[str, str], ...] = ()) -> list[str]:
    """Images a Dockerfile names in `FROM` and `COPY --from=`, with ARG defaults and build
    args substituted (build args win, as in `docker build --build-arg`)."""
    lines = _logical_lines(text)
    args: dict[str, str] = {}
    given = dict(build_args)
    stages: set[str] = set()
    out: list[str] = []
    for line in lines:
        words = line.split()
        if not words:
            continue
        op = words[0].upper()
        if op == "ARG" and len(words) > 1:
            for spec in words[1:]:
                key, eq, default = spec.partition("=")
                value = given.get(key, _expand(default.strip("\"'"), args) if eq else args.get(key, ""))
                args[key] = value
        elif op == "FROM":
            rest = [w for w in words[1:] if not w.startswith("--")]
            if rest:
                image = _expand(rest[0], args)
                if image.lower() not in stages and image != "scratch":
                    out.append(image)
                if len(rest) >= 3 and rest[1].upper() == "AS":
                    stages.add(rest[2].lower())
        elif op == "COPY":
            for w in words[1:]:
                if w.startswith("--from="):
                    source = _expand(w.split("=", 1)[1], args)
                    if source.lower() not in stages and not source.isdigit():
                        out.append(source)
    return out


def _logical_lines(text: str) -> list[str]:
    out: list[str] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#") and not current:
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        out.append(current + line)
        current = ""
    if current:
        out.append(current)
    return out


_VAR = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)")


def _expand(word: str, args: dict[str, str]) -> str:
    def sub(m: re.Match[str]) -> str:
        value = args.get(m.group(1) or m.group(3), "")
        return m.group(2) if not value and m.group(2) is not None else value

    return _VAR.sub(sub, word)


@dataclass
class ImageIndex:
    images: list[ImageTarget]
    selectors: list[RefSelector]
    # Indexes of images each image is built from (Dockerfile FROM, custom_build image_deps).
    deps: dict[int, list[int]] = field(default_factory=dict)
    used: set[int] = field(default_factory=set)
    consumed: list[str] = field(default_factory=list)

    def find(self, ref: ImageRef | str) -> int | None:
        """The first image whose selector matches `ref`; marks it used (Tilt's findBuilder)."""
        parsed = try_ref(ref) if isinstance(ref, str) else ref
        if parsed is None:
            return None
        if parsed.familiar_name not in self.consumed:
            self.consumed.append(parsed.familiar_name)
        for i, sel in enumerate(self.selectors):
            if sel.matches(parsed):
                self.used.add(i)
                return i
        return None

    def with_deps(self, roots: list[int], *, mark: bool = True) -> list[int]:
        """`roots` and everything they are built from, dependencies first, each once."""
        out: list[int] = []

        def visit(i: int) -> None:
            if i in out:
                return
            for d in self.deps.get(i, ()):
                visit(d)
            out.append(i)

        for i in roots:
            visit(i)
        if mark:
            self.used.update(out)
        return out

    def targets(self, refs: list[str]) -> tuple[ImageTarget, ...]:
        found = [i for i in (self.find(r) for r in refs) if i is not None]
        return tuple(self.images[i] for i in self.with_deps(list(dict.fromkeys(found))))


def build_index(st: EvalState) -> ImageIndex:
    refs = [try_ref(img.ref) for img in st.images]
    names = [r.name if r else img.ref for r, img in zip(refs, st.images, strict=True)]
    selectors: list[RefSelector] = []
    for r, name in zip(refs, names, strict=True):
        sel = RefSelector.of(r or ImageRef(name))
        # The same repository built under several tags: every selector becomes exact.
        if names.count(name) > 1:
            sel = replace(sel, exact=True)
        selectors.append(sel)
    images = [replace(img, match_exact=sel.exact) for img, sel in zip(st.images, selectors, strict=True)]
    index = ImageIndex(images, selectors)
    for i, img in enumerate(st.images):
        deps: list[int] = []
        for base in st.dockerfile_bases.get(i, ()):
            j = _find_quiet(index, base)
            if j is not None and j != i:
                index.used.add(j)
                deps.append(j)
        for dep in img.image_deps:
            j = _find_quiet(index, dep)
            if j is None:
                known = [t.ref for t in st.images]
                match = closest(dep, known)
                st.error(f"custom_build(): image `{img.ref}` lists image dep `{dep}`, which no "
                         "docker_build or custom_build in this Tiltfile builds", img.location,
                         f"did you mean `{match}`?" if match else
                         "build that image in the Tiltfile, or remove it from image_deps")
                continue
            index.used.add(j)
            deps.append(j)
        index.deps[i] = deps
    _check_cycles(st, index)
    index.images = [replace(img, image_deps=tuple(index.images[j].ref for j in index.deps.get(i, ())))
                    for i, img in enumerate(index.images)]
    return index


def _find_quiet(index: ImageIndex, ref: str) -> int | None:
    parsed = try_ref(ref)
    if parsed is None:
        return None
    for i, sel in enumerate(index.selectors):
        if sel.matches(parsed):
            return i
    return None


def _check_cycles(st: EvalState, index: ImageIndex) -> None:
    state: dict[int, int] = {}

    def visit(i: int, path: list[int]) -> bool:
        if state.get(i) == 2:
            return False
        if state.get(i) == 1:
            loop = [index.images[j].ref for j in path[path.index(i):]] + [index.images[i].ref]
            st.error("image dependency cycle: " + " -> ".join(loop), index.images[i].location,
                     "an image cannot be built FROM itself, directly or through other images")
            return True
        state[i] = 1
        for d in index.deps.get(i, ()):
            if visit(d, [*path, i]):
                index.deps[i] = [x for x in index.deps[i] if x != d]
                state[i] = 2
                return False
        state[i] = 2
        return False

    for i in range(len(index.images)):
        visit(i, [])


def unused_images(st: EvalState, index: ImageIndex) -> None:
    """Tilt's unused-image warning, suppressed per familiar ref or by `*`."""
    suppressed = set(st.settings.get("suppress_unused_image_warnings", ()))
    for i, img in enumerate(index.images):
        if i in index.used or "*" in suppressed:
            continue
        ref = try_ref(img.ref)
        familiar = ref.familiar if ref else img.ref
        if familiar in suppressed or img.ref in suppressed:
            continue
        match = closest(ref.familiar_name if ref else img.ref, index.consumed)
        hint = (f"did you mean `{match}`? " if match else "") + \
            f"reference it from a k8s/compose config, or suppress with " \
            f"update_settings(suppress_unused_image_warnings=['{familiar}'])"
        st.warn(f"image `{familiar}` is built but no resource uses it", img.location, hint)
