"""A Python base image made from this machine's own Debian python3.11, with no registry.

The pet-store's Dockerfile starts `FROM python:3.11-slim`. No registry is reachable here, so
the tests make an image of that name locally: the interpreter, its standard library and the
shared libraries they load (found with `ldd`), imported with `docker import`. The tarball
is cached between runs under the user's cache directory, outside the repository.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import tarfile
from pathlib import Path

from dockerd import DockerEngine, unavailable

PYTHON = "/usr/bin/python3.11"
STDLIB = "/usr/lib/python3.11"
IMAGE = "python:3.11-slim"
# Not needed to run a stdlib-only server; they only make the image bigger.
SKIP = {"test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3", "dist-packages", "site-packages",
        "__pycache__", "pydoc_data"}


def _libraries(binaries: list[str]) -> set[str]:
    libs: set[str] = set()
    for chunk in range(0, len(binaries), 50):
        out = subprocess.run(["ldd", *binaries[chunk:chunk + 50]], capture_output=True, text=True,
                             check=False).stdout
        libs.update(m.group(1) for m in re.finditer(r"(/\S+\.so[.\d]*)\s", out))
    return libs


def _add(tar: tarfile.TarFile, path: str) -> None:
    """Add `path`, and the file a symlink points to."""
    if path in tar.getnames() or "/" + path.lstrip("/") in tar.getnames():
        return
    tar.add(path, arcname=path.lstrip("/"), recursive=False)
    if os.path.islink(path):
        _add(tar, os.path.realpath(path))


def _build_tarball(out: Path) -> None:
    modules = []
    tmp = out.with_suffix(f".{os.getpid()}.part")  # sessions side by side each write their own
    with tarfile.open(tmp, "w") as tar:
        for d in ("tmp", "usr/bin", "usr/local/bin"):
            info = tarfile.TarInfo(d)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if d == "tmp" else 0o755
            tar.addfile(info)
        for link, target in (("bin", "usr/bin"), ("lib", "usr/lib"), ("lib64", "usr/lib64")):
            info = tarfile.TarInfo(link)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
        tar.add(PYTHON, arcname=PYTHON.lstrip("/"))
        info = tarfile.TarInfo("usr/bin/python3")
        info.type, info.linkname = tarfile.SYMTYPE, "python3.11"
        tar.addfile(info)
        for root, dirs, files in os.walk(STDLIB):
            dirs[:] = sorted(d for d in dirs if d not in SKIP)
            for name in sorted(files):
                full = os.path.join(root, name)
                tar.add(full, arcname=full.lstrip("/"), recursive=False)
                if name.endswith(".so"):
                    modules.append(full)
        for lib in sorted(_libraries([PYTHON, *modules])):
            # Debian is usr-merged: /lib is /usr/lib, and the image mirrors that.
            real = lib if lib.startswith("/usr/") else "/usr" + lib
            if os.path.exists(real):
                _add(tar, real)
    tmp.rename(out)


def make_python_image(engine: DockerEngine) -> str:
    if not (os.path.exists(PYTHON) and os.path.isdir(STDLIB)):
        unavailable(f"no {PYTHON} to make the {IMAGE} base image from")
    version = subprocess.run([PYTHON, "-c", "import sys; print(sys.version)"], capture_output=True, text=True,
                             check=True).stdout
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lockstep-tests"
    cache.mkdir(parents=True, exist_ok=True)
    tarball = cache / f"python311-{hashlib.sha256(version.encode()).hexdigest()[:12]}.tar"
    if not tarball.exists():
        _build_tarball(tarball)
    with open(tarball, "rb") as f:
        proc = subprocess.run(["docker", "import", "--change", 'CMD ["python3"]', "-", IMAGE], stdin=f,
                              env={**os.environ, **engine.env}, capture_output=True, text=True, timeout=120,
                              check=False)
    if proc.returncode != 0:
        raise AssertionError(f"docker import of {IMAGE} failed: {proc.stderr[-1000:]}")
    return IMAGE
