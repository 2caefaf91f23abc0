"""`local('tilt version')`, answered by lockstep itself.

Tilt's extensions ask which Tilt runs them before they use newer parts of the API: helm_remote
passes `allow_duplicates` to `k8s_yaml` only when `tilt version` says 0.17.1 or later, and parses
the answer as Tilt prints it (`v<major>.<minor>.<patch>[-dev], built <date>`). Under lockstep
there may be no `tilt` at all (the `local()` fails and so does the Tiltfile), or an unrelated one
whose version says nothing about the API that is actually evaluating the Tiltfile. So the
command is not run: lockstep answers with the Tilt release whose Tiltfile API it follows, in
Tilt's format. Only that exact command is answered; every other `tilt ...` runs as written.
"""

from __future__ import annotations

from collections.abc import Sequence

# The Tilt release whose Tiltfile API lockstep follows (docs/tiltfile-api.md); it has every
# builtin parameter lockstep accepts, `k8s_yaml(allow_duplicates=)` included.
TILT_API_VERSION = "0.37.0"
ANSWER = f"v{TILT_API_VERSION}, built by lockstep\n"


def is_tilt_version(argv: Sequence[str]) -> bool:
    """`tilt version`, as a list or as a shell string (`sh -c 'tilt version'`)."""
    words = list(argv)
    if words[:2] == ["sh", "-c"] and len(words) == 3:
        words = words[2].split()
    return words == ["tilt", "version"]
