"""build-petstore: package the server, the generated API and the router library into one zipapp.

Output: ``build_artifacts/petstore.pyz``, runnable with any Python 3.11+ and nothing else
installed: it embeds Swagger UI's files (from the ``swagger-ui-bundle`` package, present
at build time) so /docs works offline, and the spec as generated (``generated/``), so the
running server always serves the document its route table came from.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import zipapp
import zipfile
from pathlib import Path

# Importing from server/ must not leave __pycache__ in a watched source directory.
sys.dont_write_bytecode = True

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SERVER = HERE / "petstore_server"
GENERATED = ROOT / "generated" / "petstore_api"
LIB = ROOT / "build_artifacts" / "lib" / "router"
OUT = ROOT / "build_artifacts" / "petstore.pyz"

MAIN = """import sys

from petstore_server.__main__ import main

sys.exit(main())
"""


def swagger_files() -> dict[str, bytes]:
    sys.path.insert(0, str(HERE))
    try:
        from petstore_server.docs import _read_installed
    finally:
        sys.path.remove(str(HERE))
    files = _read_installed()
    if files is None:
        raise SystemExit(
            "build-petstore: error: the swagger-ui-bundle package is not installed in this python3 "
            f"({sys.executable}); /docs needs it (pip install swagger-ui-bundle)"
        )
    return files


def sources(base: Path, package: str) -> dict[str, bytes]:
    if not (base / "__init__.py").is_file():
        raise SystemExit(f"build-petstore: error: {base} is missing; run its step first")
    out = {}
    for path in sorted(base.rglob("*.py")):
        text = path.read_bytes()
        compile(text, str(path), "exec", dont_inherit=True)  # a syntax error fails the build here
        out[f"{package}/{path.relative_to(base).as_posix()}"] = text
    return out


def build(out: Path) -> dict[str, bytes]:
    members: dict[str, bytes] = {"__main__.py": MAIN.encode()}
    members.update(sources(SERVER, "petstore_server"))
    members.update(sources(GENERATED, "petstore_api"))
    members.update(sources(LIB, "router"))
    for name, body in swagger_files().items():
        members[f"petstore_server/swagger_ui/{name}"] = body
    out.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target and renamed over it: a reader sees the old or the new archive.
    fd, tmp = tempfile.mkstemp(prefix=".petstore-", suffix=".pyz", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(b"#!/usr/bin/env python3\n")  # as zipapp does: runnable as ./petstore.pyz
            with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                for name in sorted(members):
                    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))  # reproducible
                    info.compress_type = zipfile.ZIP_DEFLATED
                    info.external_attr = 0o644 << 16
                    zf.writestr(info, members[name])
        os.chmod(tmp, 0o755)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    if not zipapp.get_interpreter(str(out)):
        raise SystemExit("build-petstore: error: archive has no interpreter line")
    return members


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    members = build(args.out)
    size = args.out.stat().st_size
    print(f"build-petstore: {len(members)} files -> {args.out} ({size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
