"""What k8s_resource() and dc_resource() change on a resource: one merge for every kind.

Also where an unknown name becomes an error, so that the assignment of
Kubernetes objects and the final assembly share it without importing each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol

from lockstep.model.resource import Link, Resource, SourceLocation, TriggerMode
from lockstep.tiltfile.args import closest
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
    """Later calls win for scalars (trigger mode, auto_init) and add to the lists (a name once)."""
    return replace(
        r,
        trigger_mode=o.trigger_mode or r.trigger_mode,
        auto_init=r.auto_init if o.auto_init is None else o.auto_init,
        resource_deps=_union(r.resource_deps, o.resource_deps),
        links=r.links + o.links,
        labels=_union(r.labels, o.labels),
    )


def _union(old: tuple[str, ...], new: tuple[str, ...]) -> tuple[str, ...]:
    """In order, each name once."""
    return tuple(dict.fromkeys(old + new))


def not_found(st: EvalState, message: str, location: SourceLocation | None, hint: str) -> None:
    """An unknown name is an error, or a warning when a dry run could not read some input
    (the name may well be defined by the YAML or file it could not see). Nothing when the
    evaluation stopped at an error: the name may be defined after the line that failed."""
    if st.stopped_early:
        return
    if st.dry_run and st.missing_inputs:
        st.warn(message + " (dry run: some inputs were missing)", location, hint)
    else:
        st.error(message, location, hint)


def resource_deps_warnings(st: EvalState, deps: Sequence[str], location: SourceLocation | None,
                           k8s_names: Sequence[str] = ()) -> None:
    """resource_deps of a k8s_resource() whose workload a dry run could not see: still check
    the names against every resource known, as warnings with the closest name."""
    if not (st.dry_run and st.missing_inputs):
        return
    known = [r.name for r in st.local_resources] + [r.name for r in st.custom_deploys] + \
        [s.name for s in st.compose_services] + [o.new_name or o.workload for o in st.k8s_opts] + \
        list(k8s_names)
    for dep in deps:
        if dep not in known:
            match = closest(dep, known)
            st.warn(f"k8s_resource(): resource_deps names unknown resource `{dep}` (dry run: unless a "
                    "skipped statement defines it)", location,
                    f"did you mean `{match}`?" if match else f"define a resource named `{dep}` or remove it")
