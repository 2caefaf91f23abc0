"""The image steps of the local target: ``stage`` stands in for ``docker build``, ``load`` for ``kind load``.

``stage`` copies ``static_site/`` and ``build_artifacts/`` into ``build/image/`` — the same
COPYs the Dockerfile makes — and writes ``build/image/image.json``: every file's sha256 and
an image id derived from them, like an image digest. It copies what it finds, file by
file, exactly as ``docker build`` would: if the UI build is still writing, the image gets
a half-written site. Ordering the pipeline so that never happens is lockstep's job.

``load`` checks the staged image against its manifest (every file present with the
recorded digest) and reports the image id, as loading an image into a cluster would.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMAGE = ROOT / "build" / "image"
SOURCES = (("static_site", "static_site"), ("build_artifacts", "."))  # (from, to inside the image)
MANIFEST = "image.json"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _files(image: Path) -> dict[str, str]:
    return {
        p.relative_to(image).as_posix(): _digest(p)
        for p in sorted(image.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }


def stage(root: Path, image: Path) -> dict[str, object]:
    for src, _ in SOURCES:
        if not (root / src).is_dir():
            raise SystemExit(f"stage: error: {root / src} does not exist; build it first")
    if image.exists():
        shutil.rmtree(image)
    image.mkdir(parents=True)
    for src, dest in SOURCES:
        shutil.copytree(root / src, image / dest, dirs_exist_ok=True)
    files = _files(image)
    image_id = "sha256:" + hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()
    manifest = {"id": image_id, "tag": "petstore:dev", "files": files}
    (image / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def load(image: Path) -> dict[str, object]:
    path = image / MANIFEST
    if not path.is_file():
        raise SystemExit(f"load: error: no image staged at {image}")
    manifest = json.loads(path.read_text())
    actual = _files(image)
    if actual != manifest["files"]:
        changed = sorted(set(actual.items()) ^ set(manifest["files"].items()))
        raise SystemExit(f"load: error: {image} does not match its manifest: {changed[:5]}")
    return manifest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("command", choices=("stage", "load"))
    ap.add_argument("--image", type=Path, default=IMAGE)
    args = ap.parse_args(argv)
    if args.command == "stage":
        manifest = stage(ROOT, args.image)
        print(f"stage: {len(manifest['files'])} files -> {args.image} ({manifest['id'][:19]})")  # type: ignore[arg-type]
    else:
        manifest = load(args.image)
        print(f"load: image {manifest['tag']} {manifest['id'][:19]} ready ({len(manifest['files'])} files)")  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(main())
