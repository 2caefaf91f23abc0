"""Finding the file a user meant when its name's case differs (`tiltfile` for `Tiltfile`)."""

from __future__ import annotations

import os


def other_case(path: str) -> str | None:
    """A file beside `path` whose name differs only in case (`tiltfile` for `Tiltfile`): a
    project written on a case-insensitive file system names it so, and `tilt up` found it there."""
    directory, name = os.path.split(path)
    try:
        entries = sorted(os.listdir(directory or "."))
    except OSError:
        return None
    match = next((e for e in entries if e != name and e.lower() == name.lower()
                  and os.path.isfile(os.path.join(directory, e))), None)
    return os.path.join(directory, match) if match else None
