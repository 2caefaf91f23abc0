"""The build context actually sent to docker: a tar of the filtered files.

Files are read once: the same bytes go into the tar and into the content digest, so the
digest describes exactly what the image was built from. The tar is deterministic (sorted
names, fixed owner and mtime), so equal inputs give equal digests and docker's layer cache
sees identical files.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile
from dataclasses import dataclass
from typing import Any, BinaryIO

from lockstep.model.context_filter import ContextFilter

# The Dockerfile travels inside the tar under this name: it may live outside the context,
# come from `dockerfile_contents`, or have its FROM lines pointed at freshly built bases.
DOCKERFILE_MEMBER = ".lockstep.Dockerfile"


class ContextError(Exception):
    """A file of the context cannot be read; the message names it and the way out."""


@dataclass(frozen=True)
class ContextTar:
    path: str
    digest: str  # sha256 over names, modes and contents of everything sent
    files: int
    size: int
    # The files' identities (name, inode, size, mtime) as read: compared with `fingerprint()`
    # after the build, it tells whether the context moved while the image was being made.
    stamp: str = ""
    # A file changed while it was being read: what was sent may mix two versions of it.
    moved: bool = False


class _HashingReader:
    """Feeds exactly `size` bytes of a file to tarfile in chunks, hashing them on the way (files
    are never read whole into memory). A file that shrank meanwhile is padded and reported."""

    def __init__(self, f: BinaryIO, size: int) -> None:
        self._f, self._left = f, size
        self.hash = hashlib.sha256()
        self.short = False

    def read(self, n: int = -1) -> bytes:
        n = self._left if n < 0 else min(n, self._left)
        data = self._f.read(n)
        if len(data) < n:
            self.short = True
            data += b"\0" * (n - len(data))
        self._left -= len(data)
        self.hash.update(data)
        return data


def _walk(flt: ContextFilter) -> list[str]:
    out: list[str] = []
    for root, dirs, files in os.walk(flt.context, followlinks=False):
        dirs[:] = sorted(d for d in dirs if flt.may_contain(os.path.join(root, d)))
        for d in dirs:
            full = os.path.join(root, d)
            if os.path.islink(full) and flt.includes(full):
                out.append(full)
        for name in sorted(files):
            full = os.path.join(root, name)
            if flt.includes(full):
                out.append(full)
    return sorted(out)


def _info(name: str, mode: int, size: int = 0, kind: bytes = tarfile.REGTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mode, info.size, info.type = mode, size, kind
    info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
    return info


def _stamp_of(h: Any, rel: str, st: os.stat_result) -> None:
    h.update(f"{rel}\0{st.st_ino}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())


def fingerprint(flt: ContextFilter) -> str:
    """Names, inodes, sizes and mtimes of the context's files now (no contents read)."""
    h = hashlib.sha256()
    for full in _walk(flt):
        try:
            st = os.lstat(full)
        except OSError:
            continue
        rel = os.path.relpath(full, flt.context)
        # As write_context: .dockerignore is not sent (an edit to it re-evaluates the Tiltfile).
        if rel != ".dockerignore" and (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
            _stamp_of(h, rel, st)
    return h.hexdigest()


def _open_source(full: str, rel: str, context: str) -> BinaryIO:
    try:
        return open(full, "rb")
    except (FileNotFoundError, NotADirectoryError):
        raise
    except OSError as exc:  # unreadable (permissions): docker would fail on it too, less clearly
        raise ContextError(f"cannot read {rel} in the build context {context}: {exc.strerror}; make it "
                           "readable, or leave it out of the context (.dockerignore or ignore=)") from exc


def write_context(flt: ContextFilter, dockerfile: str, out_path: str) -> ContextTar:
    """Write the filtered context plus `dockerfile` to `out_path` (blocking: run in a thread)."""
    h = hashlib.sha256()
    stamp = hashlib.sha256()
    count = size = 0
    moved = False
    with tarfile.open(out_path, "w", format=tarfile.PAX_FORMAT) as tar:
        for full in _walk(flt):
            rel = os.path.relpath(full, flt.context)
            if rel == ".dockerignore":
                continue  # already applied; a classic builder would re-apply it, to our Dockerfile too
            try:
                st = os.lstat(full)
                if stat.S_ISLNK(st.st_mode):
                    target = os.readlink(full)
                    info = _info(rel, 0o777, kind=tarfile.SYMTYPE)
                    info.linkname = target
                    tar.addfile(info)
                    h.update(b"L" + rel.encode() + b"\0" + target.encode() + b"\0")
                    _stamp_of(stamp, rel, st)
                    continue
                if not stat.S_ISREG(st.st_mode):
                    continue
                with _open_source(full, rel, flt.context) as f:
                    before = os.fstat(f.fileno())
                    mode = stat.S_IMODE(before.st_mode)
                    reader = _HashingReader(f, before.st_size)
                    tar.addfile(_info(rel, mode, before.st_size), reader)
                    after = os.fstat(f.fileno())
            except (FileNotFoundError, NotADirectoryError):
                continue  # deleted while walking: it is not part of this context
            if reader.short or (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
                moved = True
            _stamp_of(stamp, rel, after)
            h.update(b"F" + rel.encode() + b"\0" + oct(mode).encode() + b"\0")
            h.update(reader.hash.digest())
            count += 1
            size += before.st_size
        body = dockerfile.encode()
        tar.addfile(_info(DOCKERFILE_MEMBER, 0o644, len(body)), io.BytesIO(body))
        # As the docker client does for a Dockerfile from outside the context: the builder
        # reads it, then drops both names from what COPY sees.
        ignore = f"{DOCKERFILE_MEMBER}\n.dockerignore\n".encode()
        tar.addfile(_info(".dockerignore", 0o644, len(ignore)), io.BytesIO(ignore))
        h.update(b"D" + hashlib.sha256(body).digest())
    return ContextTar(out_path, h.hexdigest(), count, size, stamp.hexdigest(), moved)


def extract_context(tar_path: str, dest: str) -> None:
    """Unpack a context tar as a plain directory, without lockstep's Dockerfile and ignore file
    (blocking: run in a thread).

    BuildKit takes the context as a directory: given a tar on stdin it applies no
    .dockerignore, so COPY would see lockstep's own two files. The tar stays the one source:
    the directory holds exactly the bytes that were hashed."""
    os.makedirs(dest, exist_ok=True)  # an empty context is still a context
    with tarfile.open(tar_path) as tar:
        members = [m for m in tar.getmembers() if m.name not in (DOCKERFILE_MEMBER, ".dockerignore")]
        if hasattr(tarfile, "tar_filter"):
            tar.extractall(dest, members=members, filter="tar")
        else:  # Python before 3.11.4: the members are our own, with relative, walked names
            tar.extractall(dest, members=members)


def context_files(flt: ContextFilter) -> list[str]:
    """The context's files as sent, relative to it (for tests and explanations)."""
    return [os.path.relpath(p, flt.context) for p in _walk(flt)]
