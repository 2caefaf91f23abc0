"""The `tilt_modules` directory: where loaded extensions live while they run.

Extensions find their own files through the directory they are executed from:
`restart_process` and `pypiserver` read scripts beside their Tiltfile, and
`helm_remote`, `git_resource` and `pypiserver` walk up from it to the first
directory holding `tilt_modules`, where they keep their caches (`.helm`,
`.git-sources`). So an extension must run from `<root>/tilt_modules/<name>/Tiltfile`,
wherever it came from (the cached clone of Tilt's repository, or
$LOCKSTEP_EXTENSIONS_DIR).

Tilt keeps that directory in its user data directory (`~/.local/share/tilt-dev`);
early versions wrote it beside the Tiltfile. lockstep does the former, in its
own data directory, `$XDG_DATA_HOME/lockstep` (default `~/.local/share/lockstep`):
nothing is written into the user's project, even by `check`. Each extension's
directory is copied there when its content changed, and `extensions.json` records
where each came from and the digest of what was copied.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator

# Extensions are a Tiltfile and a few scripts; refuse to copy something that is not.
MAX_EXTENSION_BYTES = 64 * 1024 * 1024
INDEX = "extensions.json"


def data_root() -> str:
    base = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return os.path.join(base, "lockstep")


def modules_dir() -> str:
    return os.path.join(data_root(), "tilt_modules")


def materialise(name: str, source_dir: str) -> str:
    """Copy the extension at `source_dir` to `tilt_modules/<name>/` (if its content
    changed) and return the path of its Tiltfile there. Raises OSError."""
    root = modules_dir()
    _private_dirs(root)
    digest = _digest(source_dir)
    dest = os.path.join(root, name)
    with _locked(root):
        index = _read_index(root)
        entry = index.get(name, {})
        if entry.get("digest") != digest or not os.path.isfile(os.path.join(dest, "Tiltfile")):
            _replace_tree(source_dir, dest, root)
            index[name] = {"source": source_dir, "digest": digest, "copied_at": int(time.time())}
            _write_index(root, index)
    return os.path.join(dest, "Tiltfile")


def _private_dirs(root: str) -> None:
    """The data root and tilt_modules are this user's own: code run from there is trusted."""
    os.makedirs(root, mode=0o700, exist_ok=True)
    for path in (os.path.dirname(root), root):
        st = os.lstat(path)
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
            raise PermissionError(errno.EACCES, "not a directory of your own (another user could plant "
                                  "extension code there); set XDG_DATA_HOME to one", path)


def _digest(source_dir: str) -> str:
    import hashlib  # at first use: it loads OpenSSL (3-12 ms of every evaluation child start)
    h = hashlib.sha256()
    total = 0
    for top, dirs, files in os.walk(source_dir):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(top, name)
            if not os.path.isfile(path):
                continue
            rel = os.path.relpath(path, source_dir)
            h.update(rel.encode() + b"\0")
            with open(path, "rb") as f:
                while chunk := f.read(1 << 20):
                    total += len(chunk)
                    if total > MAX_EXTENSION_BYTES:
                        raise OSError(errno.EFBIG, f"extension is larger than {MAX_EXTENSION_BYTES >> 20} MiB",
                                      source_dir)
                    h.update(chunk)
            h.update(b"\0")
    return h.hexdigest()


def _replace_tree(source_dir: str, dest: str, root: str) -> None:
    # Copy beside, then swap with renames: an evaluation never reads a half-copied extension.
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    work = tempfile.mkdtemp(prefix=".copy-", dir=root)
    try:
        fresh = os.path.join(work, "new")
        shutil.copytree(source_dir, fresh, symlinks=True)
        if os.path.lexists(dest):
            os.rename(dest, os.path.join(work, "old"))
        os.rename(fresh, dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _read_index(root: str) -> dict[str, dict[str, object]]:
    try:
        with open(os.path.join(root, INDEX), encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return {}  # absent or torn: everything is copied again
    entries = data.get("extensions") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        return {}
    return {e["name"]: e for e in entries if isinstance(e, dict) and isinstance(e.get("name"), str)}


def _write_index(root: str, index: dict[str, dict[str, object]]) -> None:
    entries = [{"name": name, **{k: v for k, v in entry.items() if k != "name"}}
               for name, entry in sorted(index.items())]
    fd, tmp = tempfile.mkstemp(prefix=".extensions-", dir=root)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump({"extensions": entries}, f, indent=2)
    os.replace(tmp, os.path.join(root, INDEX))


@contextlib.contextmanager
def _locked(root: str) -> Iterator[None]:
    """Two evaluations (two `up`s, a `check` beside an `up`) never copy at the same time."""
    fd = os.open(os.path.join(root, ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
