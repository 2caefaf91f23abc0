"""The image step of a deploy: a resource's images built in order, bases first.

Kept apart from the Kubernetes runner so that any deploy kind can take the same step over
the one-image builder it is given (`image_runner.DockerImages` over the docker builder).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from lockstep.adapters.kubectl import LogFn
from lockstep.adapters.process import Stream
from lockstep.model.resource import ImageTarget, Resource


class ImageStep(Protocol):
    """Builds a resource's images; returns image ref (as the Tiltfile wrote it) -> built ref."""

    async def build(self, resource: Resource, log: LogFn) -> dict[str, str]: ...


class BuildsOneImage(Protocol):
    """An image builder: one image, given the refs already built for this resource (its bases)."""

    async def build(self, img: ImageTarget, built: Mapping[str, str], log: LogFn) -> str: ...


class ImagesInOrder:
    """The image step over a one-image builder: the resource's images in build order (bases
    first, as the loader orders them), each seeing the refs built before it."""

    def __init__(self, builder: BuildsOneImage) -> None:
        self.builder = builder

    async def build(self, resource: Resource, log: LogFn) -> dict[str, str]:
        built: dict[str, str] = {}
        for img in resource.images:
            built[img.ref] = await self.builder.build(img, built, log)
            log(f"Built {img.ref} as {built[img.ref]}", Stream.STDOUT)
        return built
