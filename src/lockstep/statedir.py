"""Per-Tiltfile state directory, outside the repository (XDG state home).

Holds the update history, inferred edges, logs and the running instance's
address and token. Keyed by the Tiltfile's absolute path so two checkouts never
share state.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from pathlib import Path


def state_root() -> Path:
    base = os.environ.get("LOCKSTEP_STATE_DIR")
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_STATE_HOME") or os.path.join(Path.home(), ".local", "state")
    return Path(xdg) / "lockstep"


def state_dir(tiltfile: str | os.PathLike[str], create: bool = True) -> Path:
    path = Path(tiltfile).resolve()
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:16]
    d = state_root() / f"{path.parent.name or 'root'}-{digest}"
    if create:
        d.mkdir(parents=True, exist_ok=True, mode=0o700)
    return d


def check_writable(directory: Path) -> None:
    """Raise OSError unless files can be created in `directory` (creating it if needed).

    `up` checks this before anything starts: a read-only state dir would
    otherwise fail half-way, after servers were started.
    """
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    _check_private(directory)
    probe = directory / f".write-test.{os.getpid()}"
    fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)
    os.unlink(probe)


class NotPrivateError(PermissionError):
    """The state dir exists but is not this user's own (see _check_private)."""


def _check_private(directory: Path) -> None:
    """The state dir holds logs (secrets) and the API token: it must be ours and closed to others.

    mkdir(exist_ok=True) accepts a directory someone else made beforehand (another user, under a
    shared LOCKSTEP_STATE_DIR such as /tmp/x), or a symlink to one: refuse those. Our own
    directory with loose permissions (made by hand) is simply closed.
    """
    st = os.lstat(directory)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
        what = "a symlink" if stat.S_ISLNK(st.st_mode) else f"owned by uid {st.st_uid}, not by you"
        raise NotPrivateError(errno.EACCES, f"it is {what}, so another user could read its logs and the API"
                              " token", str(directory))
    if st.st_mode & 0o077:
        os.chmod(directory, 0o700)
