"""The UI as baked into the image: read once at startup, like files in a container image.

The server takes a snapshot of the staged image directory when it starts and serves only
that snapshot. A later stage step that rewrites the directory does not change what a
running server serves; the pipeline restarts the server after a new image is staged, as
a deployment rolls to a new image. So one server never pairs an ``index.html`` from one
build with assets from another.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
MAX_SITE_BYTES = 64 * 1024 * 1024

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
    ".woff2": "font/woff2",
}

_REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']/?(assets/[^"'?#]+)["']""")


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str
    cache_control: str
    etag: str


def content_type(name: str) -> str:
    return CONTENT_TYPES.get(Path(name).suffix.lower(), "application/octet-stream")


class StaticSite:
    def __init__(self, files: dict[str, Asset], root: Path | None) -> None:
        self.files = files
        self.root = root

    @classmethod
    def empty(cls) -> StaticSite:
        return cls({}, None)

    @classmethod
    def load(cls, root: Path) -> StaticSite:
        files: dict[str, Asset] = {}
        total = 0
        if not root.is_dir():
            return cls(files, root)
        for path in sorted(root.rglob("*")):
            if not path.is_file() or any(part.startswith(".") for part in path.relative_to(root).parts):
                continue
            body = path.read_bytes()
            total += len(body)
            if total > MAX_SITE_BYTES:
                raise ValueError(f"static site in {root} exceeds {MAX_SITE_BYTES} bytes")
            rel = path.relative_to(root).as_posix()
            # Content-hashed assets never change under their name; everything else must revalidate.
            cache = IMMUTABLE if rel.startswith("assets/") else REVALIDATE
            etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
            files["/" + rel] = Asset(body, content_type(rel), cache, etag)
        return cls(files, root)

    def lookup(self, path: str) -> Asset | None:
        if path == "/":
            path = "/index.html"
        return self.files.get(path)

    def referenced_assets(self) -> list[str]:
        index = self.files.get("/index.html")
        if index is None:
            return []
        return sorted(set(_REFERENCE.findall(index.body.decode("utf-8", "replace"))))

    def problems(self) -> list[str]:
        """What makes this snapshot an inconsistent UI (a half-written build)."""
        if self.root is None:
            return []
        if "/index.html" not in self.files:
            return [f"no index.html in {self.root}"]
        return [
            f"index.html references {ref}, which is not in {self.root}"
            for ref in self.referenced_assets()
            if "/" + ref not in self.files
        ]
