"""Container image references as Docker normalises them, and Tilt's rule for matching them.

A ref built by the Tiltfile (`docker_build('app', ...)`) is a *selector*: without a tag it
matches every tag and digest of that repository; with a tag it matches only that tag. When
the same repository is built under several tags, every selector for it becomes exact, so
`app` and `app:v2` each find only their own uses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_DOMAIN = "docker.io"
_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_DOMAIN = re.compile(r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9-]+)*(?::[0-9]+)?"
                     r"|\[[0-9a-fA-F:]+\](?::[0-9]+)?")
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}")


class RefError(ValueError):
    """Not a valid image reference."""


@dataclass(frozen=True)
class ImageRef:
    """A normalised reference: `name` is the full repository (docker.io/library/app)."""

    name: str
    tag: str = ""
    digest: str = ""

    def __str__(self) -> str:
        return self.name + (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")

    @property
    def familiar_name(self) -> str:
        """The short form people write: `app` for docker.io/library/app."""
        name = self.name
        if name.startswith(DEFAULT_DOMAIN + "/library/") and name.count("/") == 2:
            return name.split("/", 2)[2]
        return name.removeprefix(DEFAULT_DOMAIN + "/")

    @property
    def familiar(self) -> str:
        return self.familiar_name + (f":{self.tag}" if self.tag else "") + \
            (f"@{self.digest}" if self.digest else "")


def parse_ref(text: str) -> ImageRef:
    """Parse and normalise like Docker's ParseNormalizedNamed; RefError says what is wrong."""
    if not text or text != text.strip():
        raise RefError("an image reference cannot be empty or contain spaces")
    rest, _, digest = text.partition("@")
    if digest and not _DIGEST.fullmatch(digest):
        raise RefError(f"invalid digest {digest!r}")
    tag = ""
    last = rest.rsplit("/", 1)[-1]
    if ":" in last:
        tag = last.rsplit(":", 1)[1]
        rest = rest[: len(rest) - len(tag) - 1]
        if not _TAG.fullmatch(tag):
            raise RefError(f"invalid tag {tag!r}")
    parts = rest.split("/")
    domain = DEFAULT_DOMAIN
    first = parts[0]
    if len(parts) > 1 and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        if not _DOMAIN.fullmatch(first):
            raise RefError(f"invalid registry host {first!r}")
        domain, parts = first, parts[1:]
    if domain == "index.docker.io":
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and len(parts) == 1:
        parts = ["library", *parts]
    for part in parts:
        if not _COMPONENT.fullmatch(part):
            hint = " (repository names must be lowercase)" if part.lower() != part else ""
            raise RefError(f"invalid repository name component {part!r}{hint}")
    return ImageRef(domain + "/" + "/".join(parts), tag, digest)


def host_error(host: str) -> str:
    """Why `host` cannot be a registry host ("" when it can): `HOST/name` must be a
    fully qualified reference, so the first component must be a domain (`localhost`, a dotted
    name or `name:port`)."""
    if not host:
        return "the registry host is empty"
    try:
        parsed = parse_ref(f"{host}/fake")
    except RefError as exc:
        return str(exc)
    if parsed.tag or parsed.digest or parsed.name != f"{host}/fake":
        return "it must start with a registry domain (e.g. localhost:5000, gcr.io/my-project)"
    return ""


def try_ref(text: str) -> ImageRef | None:
    try:
        return parse_ref(text)
    except RefError:
        return None


@dataclass(frozen=True)
class RefSelector:
    ref: ImageRef
    exact: bool

    @classmethod
    def of(cls, ref: ImageRef) -> RefSelector:
        # A tag in what the Tiltfile builds means "only this tag" (Tilt's NewRefSelector).
        return cls(ref, exact=bool(ref.tag))

    def matches(self, used: ImageRef) -> bool:
        if self.exact:
            return str(used) == str(self.ref)
        return used.name == self.ref.name

