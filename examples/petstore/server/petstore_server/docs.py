"""Swagger UI at /docs, served from files shipped with the server: no CDN, works offline.

build-petstore copies Swagger UI's distribution from the ``swagger-ui-bundle`` package into
the packaged server (``petstore_server/swagger_ui/``); when running from source the
installed package is used directly.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from .static import Asset, content_type

SWAGGER_FILES = (
    "swagger-ui-bundle.js",
    "swagger-ui-standalone-preset.js",
    "swagger-ui.css",
    "favicon-32x32.png",
    "favicon-16x16.png",
)

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{title} - API docs</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
  <style>body {{ margin: 0; }}</style>
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/swagger-ui-standalone-preset.js"></script>
  <script>
    window.ui = SwaggerUIBundle({{
      url: "/openapi.yaml",
      dom_id: "#swagger-ui",
      deepLinking: true,
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
      layout: "StandaloneLayout",
      validatorUrl: null
    }});
  </script>
</body>
</html>
"""


def _read_embedded() -> dict[str, bytes] | None:
    try:
        base = resources.files(__package__) / "swagger_ui"
        return {name: (base / name).read_bytes() for name in SWAGGER_FILES}
    except (FileNotFoundError, NotADirectoryError, OSError):
        return None


def _read_installed() -> dict[str, bytes] | None:
    try:
        import swagger_ui_bundle  # type: ignore[import-untyped]
    except ImportError:
        return None
    base = Path(swagger_ui_bundle.swagger_ui_path)
    try:
        return {name: (base / name).read_bytes() for name in SWAGGER_FILES}
    except OSError:
        return None


def swagger_source_files() -> dict[str, bytes] | None:
    """Swagger UI's files, embedded or installed; None when neither is available."""
    return _read_embedded() or _read_installed()


class SwaggerDocs:
    def __init__(self, title: str) -> None:
        files = swagger_source_files()
        self.available = files is not None
        self.assets: dict[str, Asset] = {}
        for name, body in (files or {}).items():
            self.assets["/docs/" + name] = Asset(body, content_type(name), "public, max-age=86400", "")
        self.page = PAGE.format(title=title).encode("utf-8")

    def lookup(self, path: str) -> Asset | None:
        if path in ("/docs", "/docs/"):
            if not self.available:
                return None
            return Asset(self.page, "text/html; charset=utf-8", "no-cache", "")
        return self.assets.get(path)
