"""Files only this user may read, replaced atomically (the state dir's JSON files).

A reader never sees a half-written file (write to a temporary, then rename over)
and the token and pid inside are never readable by other users, not even for
the instant between creating and chmod-ing (the mode is set at creation).
"""

from __future__ import annotations

import json
import os
from pathlib import Path


def write_private_json(path: Path, data: object) -> Path:
    # Per-process temporary name: two writers never truncate each other's file.
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f)
    os.replace(tmp, path)
    return path
