"""Mutable evaluation state: what builtins record while one Tiltfile evaluates.

Builtins append to this; `assemble` turns it into the frozen `LoadResult` at the end.
It lives only for one `load()` call, so it is the one place mutation is allowed.
"""

from __future__ import annotations

import enum
import os
import time
from dataclasses import dataclass, field
from typing import Any

from lockstep.model.resource import (
    Diagnostic,
    DiscoveryStrategy,
    ImageTarget,
    K8sObject,
    Link,
    PodReadiness,
    PortForward,
    Resource,
    Severity,
    SourceLocation,
    TriggerMode,
)


@dataclass
class Frame:
    """One file being evaluated: relative paths resolve against its directory."""

    path: str
    display: str

    @property
    def dir(self) -> str:
        return os.path.dirname(self.path)


@dataclass
class K8sObjectEntry:
    obj: K8sObject
    doc: dict[str, Any]
    location: SourceLocation | None


@dataclass
class K8sResourceOpts:
    """One `k8s_resource()` call; applied after evaluation, when all YAML is known."""

    workload: str
    new_name: str
    location: SourceLocation | None
    port_forwards: tuple[PortForward, ...] = ()
    extra_pod_selectors: tuple[tuple[tuple[str, str], ...], ...] = ()
    trigger_mode: TriggerMode | None = None
    auto_init: bool | None = None
    resource_deps: tuple[str, ...] = ()
    objects: tuple[str, ...] = ()
    links: tuple[Link, ...] = ()
    labels: tuple[str, ...] = ()
    discovery_strategy: DiscoveryStrategy | None = None
    pod_readiness: PodReadiness | None = None


@dataclass
class DcResourceOpts:
    name: str
    location: SourceLocation | None
    new_name: str = ""
    trigger_mode: TriggerMode | None = None
    auto_init: bool | None = None
    resource_deps: tuple[str, ...] = ()
    links: tuple[Link, ...] = ()
    labels: tuple[str, ...] = ()


@dataclass
class ComposeService:
    name: str
    image: str
    has_build: bool
    project_files: tuple[str, ...]
    location: SourceLocation | None
    links: tuple[Link, ...] = ()
    depends_on: tuple[str, ...] = ()
    project: str = ""
    build_context: str = ""  # absolute; "" when the service has no `build:`
    config_digest: str = ""
    project_digest: str = ""
    ready_when_completed: bool = False
    env_file: str = ""
    build_ignore: tuple[str, ...] = ()  # the build context's .dockerignore, as absolute patterns


@dataclass
class KindInfo:
    """A k8s_kind() or k8s_image_json_path() selector: objects it matches are workloads,
    and its locators say where their images are. Fields are case-insensitive regexps
    matched anywhere in the value, as Tilt's partial-match object selectors are."""

    kind: str = ""
    api_version: str = ""
    name: str = ""
    namespace: str = ""
    image_json_paths: tuple[str, ...] = ()
    # image_object locators: (json_path, repo_field, tag_field)
    image_objects: tuple[tuple[str, str, str], ...] = ()
    pod_readiness: PodReadiness = PodReadiness.AUTO

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.api_version, self.kind, self.name, self.namespace)


class ConfigKind(enum.Enum):
    """What a config.define_*() setting holds (the suffix of its builtin's name)."""

    STRING = "string"
    STRING_LIST = "string_list"
    BOOL = "bool"
    OBJECT = "object"


@dataclass
class ConfigDef:
    name: str
    kind: ConfigKind
    args: bool
    usage: str


@dataclass
class EvalState:
    main_path: str
    dry_run: bool
    subcommand: str
    args: tuple[str, ...]
    timeout: float | None
    frames: list[Frame] = field(default_factory=list)
    sources: dict[str, list[str]] = field(default_factory=dict)
    # Rewritten line -> the user's line, for files whose `while` loops were rewritten.
    line_maps: dict[str, list[int]] = field(default_factory=dict)
    errors: list[Diagnostic] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)
    config_files: dict[str, None] = field(default_factory=dict)
    printed: list[str] = field(default_factory=list)
    local_commands: list[str] = field(default_factory=list)
    local_resources: list[Resource] = field(default_factory=list)
    custom_deploys: list[Resource] = field(default_factory=list)
    images: list[ImageTarget] = field(default_factory=list)
    # Index in `images` -> images its Dockerfile names (FROM / COPY --from), before matching.
    dockerfile_bases: dict[int, tuple[str, ...]] = field(default_factory=dict)
    k8s_objects: list[K8sObjectEntry] = field(default_factory=list)
    k8s_opts: list[K8sResourceOpts] = field(default_factory=list)
    k8s_kinds: dict[tuple[str, str, str, str], KindInfo] = field(default_factory=dict)
    compose_services: list[ComposeService] = field(default_factory=list)
    dc_opts: list[DcResourceOpts] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    enabled_resources: tuple[str, ...] | None = None
    config_parsed: bool = False
    api_objects: list[tuple[str, str]] = field(default_factory=list)
    default_trigger_mode: TriggerMode = TriggerMode.AUTO
    trigger_mode_location: SourceLocation | None = None
    default_registry_location: SourceLocation | None = None
    # k8s_custom_deploy name -> its image_deps (each must be built by the Tiltfile).
    custom_image_deps: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Live-update steps made but not (yet) passed to a live_update list, by identity.
    unused_steps: dict[int, tuple[object, SourceLocation | None]] = field(default_factory=dict)
    default_auto_init: bool = True
    config_defs: dict[str, ConfigDef] = field(default_factory=dict)
    env_overlay: dict[str, str | None] = field(default_factory=dict)
    # Strings returned by blob-producing builtins: `k8s_yaml(s)` reads these as YAML, not a path.
    blobs: set[str] = field(default_factory=set)
    # Names in the append-only lists local_resources / custom_deploys / compose_services, kept as
    # they grow (see `names_in`): each call's duplicate check must not walk every earlier one.
    _names: dict[int, tuple[int, set[str]]] = field(default_factory=dict, repr=False)
    # (file being evaluated, path) -> resolve()'s answer; not for `~` paths.
    _resolved: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)

    def names_in(self, items: list[Resource] | list[ComposeService]) -> set[str]:
        """The names of `items`, one of this state's append-only lists (O(new entries) per call)."""
        seen, names = self._names.get(id(items), (0, set()))
        if len(items) < seen:  # not append-only after all: start over rather than answer wrong
            seen, names = 0, set()
        for item in items[seen:]:
            names.add(item.name)
        self._names[id(items)] = (len(items), names)
        return names
    # Any input the dry run could not read: "not found" checks become warnings then.
    missing_inputs: list[str] = field(default_factory=list)
    # Set once an error has been recorded, so enclosing evaluations do not report it again.
    failed: bool = False
    # The evaluation stopped at an error: names the rest of the Tiltfile would have defined are
    # missing, so "no such resource" checks after it would only report that error again.
    stopped_early: bool = False
    # The file and interpreter text of the first error recorded (a dry run decides from
    # them whether a missing input may explain it).
    error_file: str = ""
    error_text: str = ""
    # Dry run: per file, top-level statements (by first line) to leave out, with the
    # warning that says why. Shared by the attempts of one load; see runtime.tolerate.
    skipped: dict[str, dict[int, Diagnostic]] = field(default_factory=dict)
    restart: bool = False
    pending: Exception | None = None
    call_location: SourceLocation | None = None
    exited: bool = False
    loaded_modules: dict[str, object] = field(default_factory=dict)
    loading: list[str] = field(default_factory=list)
    dynamic_functions: list[tuple[object, str]] = field(default_factory=list)
    w2r_modules: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    # Time spent in `local()` subprocesses does not count against the evaluation budget.
    paused: float = 0.0

    @property
    def frame(self) -> Frame:
        return self.frames[-1]

    def resolve(self, path: str) -> str:
        """A Tiltfile path, relative to the file being evaluated (Tilt's rule)."""
        if path.startswith("~"):
            return self._resolve(path)
        # Generated Tiltfiles pass the same few paths (deps=['src'], dir='.') thousands of times.
        key = (self.frame.path, path)
        found = self._resolved.get(key)
        if found is None:
            found = self._resolved[key] = self._resolve(path)
        return found

    def _resolve(self, path: str) -> str:
        path = os.path.expanduser(path)
        # Tilt resolves against the directory of the file being executed (the innermost
        # load in progress), not the file a function is written in: a function of an
        # extension called from the main Tiltfile resolves the caller's relative paths
        # against the main Tiltfile's directory, as its users expect.
        return os.path.normpath(os.path.join(self.frame.dir, path))

    def watch(self, path: str) -> None:
        self.config_files[path] = None

    def warn(self, message: str, location: SourceLocation | None = None, hint: str = "") -> None:
        self.warnings.append(Diagnostic(Severity.WARNING, message, location, hint))

    def error(self, message: str, location: SourceLocation | None = None, hint: str = "") -> None:
        self.errors.append(Diagnostic(Severity.ERROR, message, location, hint))

    def getenv(self, key: str) -> str | None:
        if key in self.env_overlay:
            return self.env_overlay[key]
        return os.environ.get(key)

    def environ(self) -> dict[str, str]:
        env = dict(os.environ)
        for k, v in self.env_overlay.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        return env

    def deadline(self) -> float | None:
        """When the evaluation's budget runs out, on the wall clock (commands count)."""
        return None if self.timeout is None else self.started + self.timeout

    def cancelled(self) -> bool:
        if self.timeout is None:
            return False
        return time.monotonic() - self.started - self.paused > self.timeout
