"""What k8s_resource() and dc_resource() change on a resource: one merge for every kind.

Also where an unknown name becomes an error, so that the assignment of
Kubernetes objects and the final assembly share it without importing each other.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

from lockstep.model.resource import Link, Resource, SourceLocation, TriggerMode
from lockstep.tiltfile.state import EvalState


class ResourceOpts(Protocol):
    """The options k8s_resource() and dc_resource() have in common."""

    @property
    def trigger_mode(self) -> TriggerMode | None: ...
    @property
    def auto_init(self) -> bool | None: ...
    @property
    def resource_deps(self) -> tuple[str, ...]: ...
    @property
    def links(self) -> tuple[Link, ...]: ...
    @property
    def labels(self) -> tuple[str, ...]: ...


def merge_opts(r: Resource, o: ResourceOpts) -> Resource:
    """Later calls win for scalars (trigger mode, auto_init) and add to the lists."""
    return replace(
        r,
        trigger_mode=o.trigger_mode or r.trigger_mode,
        auto_init=r.auto_init if o.auto_init is None else o.auto_init,
        resource_deps=r.resource_deps + tuple(d for d in dict.fromkeys(o.resource_deps) if d not in r.resource_deps),
        links=r.links + o.links,
        labels=r.labels + o.labels,
    )


def not_found(st: EvalState, message: str, location: SourceLocation | None, hint: str) -> None:
    """An unknown name is an error, or a warning when a dry run could not read some input
    (the name may well be defined by the YAML or file it could not see)."""
    if st.dry_run and st.missing_inputs:
        st.warn(message + " (dry run: some inputs were missing)", location, hint)
    else:
        st.error(message, location, hint)
