"""Where `ext://NAME` comes from: $LOCKSTEP_EXTENSIONS_DIR, else a cached clone of
Tilt's public extensions repository under the user's cache directory. Either way the
extension runs from its copy in `tilt_modules` (see `tilt_modules`)."""

from __future__ import annotations

import os
import shutil
import subprocess

from lockstep.tiltfile import tilt_modules

REPO_URL = "https://github.com/tilt-dev/tilt-extensions"


def cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return os.path.join(base, "lockstep", "tilt-extensions")


def _valid(name: str) -> bool:
    parts = name.split("/")
    return bool(name) and all(p and p not in (".", "..") for p in parts)


def resolve(name: str, *, fetch: bool) -> tuple[str | None, str]:
    """(path of the extension's Tiltfile in tilt_modules, path of the Tiltfile it was copied
    from) or (None, why it is unavailable)."""
    source, reason = _source(name, fetch=fetch)
    if source is None:
        return None, reason
    try:
        return tilt_modules.materialise(name, os.path.dirname(source)), source
    except OSError as exc:
        where = exc.filename or tilt_modules.modules_dir()
        return None, f"cannot copy the extension into {where}: {exc.strerror or exc}"


def _source(name: str, *, fetch: bool) -> tuple[str | None, str]:
    if not _valid(name):
        return None, f"invalid extension name {name!r}"
    local = os.environ.get("LOCKSTEP_EXTENSIONS_DIR")
    if local:
        path = os.path.join(local, name, "Tiltfile")
        return (path, "") if os.path.isfile(path) else (None, f"extension not found in {local}")
    root = cache_dir()
    if not os.path.isdir(os.path.join(root, ".git")):
        if not fetch:
            return None, "extension cache is empty (a dry run does not fetch it)"
        if shutil.which("git") is None:
            return None, "git is needed to fetch Tilt's extensions repository"
        os.makedirs(os.path.dirname(root), exist_ok=True)
        proc = subprocess.run(["git", "clone", "--depth", "1", "--quiet", REPO_URL, root],
                              capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            return None, f"could not clone {REPO_URL}: {proc.stderr.strip()[-200:]}"
    path = os.path.join(root, name, "Tiltfile")
    return (path, "") if os.path.isfile(path) else (None, f"no extension named {name!r} in {REPO_URL}")
