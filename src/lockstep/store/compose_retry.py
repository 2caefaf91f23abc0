"""When a Compose service gets another `up` because its project was edited.

An edit outside a service's own definition (a top-level network, an included file, the
variables, another service's env_file) leaves a running service alone, but a service whose
`up` failed, or whose container crashed, is deployed again, as Tilt re-runs `up` for an
edited project: the fix may lie there. An `up` running during the edit read the project as
it was, so whether it needs another one is known only when it ends.
"""

from __future__ import annotations

import enum

from lockstep.model.resource import Resource
from lockstep.store.state import ResourceState, RuntimeStatus


class Retry(enum.Enum):
    NO = "no"
    NOW = "now"  # failed or crashed: pending again
    IF_FAILED = "if-failed"  # its update is running: decided when that ends


def failed(s: ResourceState) -> bool:
    return s.running is None and (s.failed or s.runtime is RuntimeStatus.CRASHED)


def project_edited(old: Resource | None, new: Resource) -> bool:
    """The Compose project of `new` reads differently than when `old` was loaded."""
    return (old is not None and old.compose is not None and new.compose is not None
            and old.compose.project_digest != new.compose.project_digest)


def after_reload(s: ResourceState, old: Resource | None, new: Resource) -> Retry:
    """For a resource whose own definition did not change in a reload."""
    if not s.enabled or not project_edited(old, new):
        return Retry.NO
    if failed(s):
        return Retry.NOW
    return Retry.IF_FAILED if s.running is not None else Retry.NO
