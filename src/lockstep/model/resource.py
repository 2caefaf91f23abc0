"""The typed resource graph: what a Tiltfile evaluates to.

Every type here is a frozen dataclass so that a `LoadResult` can be shared by the
engine, the views and the CLI without copying, and compared cheaply on reload
(a resource whose definition is unchanged compares equal and is not re-run).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from functools import cached_property

from lockstep.model.shell import direct_argv


class ResourceKind(enum.Enum):
    LOCAL = "local"
    K8S = "k8s"
    COMPOSE = "compose"


class TriggerMode(enum.Enum):
    """Tilt's four trigger modes, flattened into file-trigger x auto-init."""

    AUTO = "auto"
    MANUAL = "manual"


class ProbeKind(enum.Enum):
    HTTP = "http"
    TCP = "tcp"
    EXEC = "exec"


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class SourceLocation:
    """A position in a Tiltfile (1-based line and column)."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Diagnostic:
    severity: Severity
    message: str
    location: SourceLocation | None = None
    hint: str = ""

    def render(self) -> str:
        where = f"{self.location}: " if self.location else ""
        text = f"{where}{self.severity.value}: {self.message}"
        if self.hint:
            text += f"\n  fix: {self.hint}"
        return text


@dataclass(frozen=True)
class Cmd:
    """A command as Tilt runs it: a string becomes `sh -c STRING`, a list is exec'd."""

    argv: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not self.argv

    def display(self) -> str:
        if len(self.argv) == 3 and self.argv[:2] == ("sh", "-c"):
            return self.argv[2]
        return " ".join(self.argv)

    @cached_property
    def direct_argv(self) -> tuple[str, ...] | None:
        """What `sh -c STRING` would exec when the string has no shell syntax (model/shell.py), else None."""
        if len(self.argv) == 3 and self.argv[:2] == ("sh", "-c"):
            return direct_argv(self.argv[2])
        return None


@dataclass(frozen=True)
class Probe:
    """A readiness probe with Tilt's (Kubernetes') defaults."""

    kind: ProbeKind
    # http / tcp
    host: str = "localhost"
    port: int = 0
    path: str = ""
    scheme: str = "http"
    # exec
    command: tuple[str, ...] = ()
    initial_delay_secs: float = 0.0
    timeout_secs: float = 1.0
    period_secs: float = 10.0
    success_threshold: int = 1
    failure_threshold: int = 3


@dataclass(frozen=True)
class Link:
    url: str
    name: str = ""


@dataclass(frozen=True)
class PortForward:
    local_port: int
    # 0 = unresolved: `port_forwards=8000` leaves the container port to be picked from the
    # pod at run time (the same number if a container declares it, else its first port).
    container_port: int
    host: str = ""
    name: str = ""
    link_path: str = ""

    @property
    def unresolved(self) -> bool:
        return self.container_port == 0


class LiveUpdateKind(enum.Enum):
    SYNC = "sync"
    RUN = "run"
    FALL_BACK_ON = "fall_back_on"
    INITIAL_SYNC = "initial_sync"
    RESTART_CONTAINER = "restart_container"


@dataclass(frozen=True)
class LiveUpdateStep:
    kind: LiveUpdateKind
    local_path: str = ""
    remote_path: str = ""
    command: tuple[str, ...] = ()
    trigger: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class LocalSpec:
    """What a `local_resource` runs. Paths are absolute."""

    cmd: Cmd = Cmd(())
    dir: str = ""
    env: tuple[tuple[str, str], ...] = ()
    serve_cmd: Cmd = Cmd(())
    serve_dir: str = ""
    serve_env: tuple[tuple[str, str], ...] = ()
    readiness_probe: Probe | None = None
    allow_parallel: bool = False


@dataclass(frozen=True)
class ImageTarget:
    """A `docker_build` or `custom_build` image, attached to the resources that deploy it."""

    ref: str
    context: str = ""
    dockerfile: str = ""
    dockerfile_contents: str = ""
    build_args: tuple[tuple[str, str], ...] = ()
    target: str = ""
    only: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    live_update: tuple[LiveUpdateStep, ...] = ()
    entrypoint: tuple[str, ...] = ()
    platform: str = ""
    # custom_build
    custom_command: Cmd | None = None
    deps: tuple[str, ...] = ()
    tag: str = ""
    skips_local_docker: bool = False
    outputs_image_ref_to: str = ""
    extra: tuple[tuple[str, str], ...] = ()
    location: SourceLocation | None = None
    # docker_build: build-time options, and what only matters once deployed.
    dockerignore: tuple[str, ...] = ()  # the context's .dockerignore, read at load time
    # sha256 of the Dockerfile as read at load time: the Dockerfile is a Tiltfile input (its
    # FROM lines are read), so an edit re-evaluates the Tiltfile, and this makes the image's
    # definition change with it, which rebuilds the image.
    dockerfile_digest: str = ""
    extra_tags: tuple[str, ...] = ()
    network: str = ""
    ssh: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()
    cache_from: tuple[str, ...] = ()
    pull: bool = False
    container_args: tuple[str, ...] | None = None
    extra_hosts: tuple[str, ...] = ()
    # custom_build
    disable_push: bool = False
    env: tuple[tuple[str, str], ...] = ()
    # Refs of the Tiltfile's images this one is built from (Dockerfile FROM / COPY --from,
    # custom_build image_deps): built first, and attached wherever this image is.
    image_deps: tuple[str, ...] = ()
    # Also replace the ref where it appears in container env values.
    match_in_env_vars: bool = False
    # Match only this exact tag (a tagged ref, or one repository built under several tags).
    match_exact: bool = False


@dataclass(frozen=True)
class K8sObject:
    kind: str
    name: str
    namespace: str = ""
    api_version: str = ""
    yaml: str = ""  # the document, re-encoded
    # Where a custom resource keeps images (k8s_kind/k8s_image_json_path): (json_path,
    # repo_field, tag_field), the last two empty for a plain string field.
    image_locators: tuple[tuple[str, str, str], ...] = ()

    @property
    def ref(self) -> str:
        """Tilt's selector form: name:kind[:namespace], lower-cased kind."""
        parts = [self.name, self.kind.lower()]
        if self.namespace:
            parts.append(self.namespace)
        return ":".join(parts)


class PodReadiness(enum.Enum):
    """k8s_resource(pod_readiness=) and k8s_kind(pod_readiness=), as Tilt spells them."""

    AUTO = ""  # not given: decided by the workload
    WAIT = "wait"
    IGNORE = "ignore"
    SUCCEEDED = "succeeded"


class DiscoveryStrategy(enum.Enum):
    """k8s_resource(discovery_strategy=): how the deployed pods are found."""

    DEFAULT = "default"
    SELECTORS_ONLY = "selectors-only"


@dataclass(frozen=True)
class K8sSpec:
    objects: tuple[K8sObject, ...] = ()
    image_refs: tuple[str, ...] = ()
    port_forwards: tuple[PortForward, ...] = ()
    extra_pod_selectors: tuple[tuple[tuple[str, str], ...], ...] = ()
    pod_readiness: PodReadiness = PodReadiness.AUTO
    discovery_strategy: DiscoveryStrategy = DiscoveryStrategy.DEFAULT
    # k8s_custom_deploy
    apply_cmd: Cmd | None = None
    delete_cmd: Cmd | None = None
    apply_dir: str = ""
    apply_env: tuple[tuple[str, str], ...] = ()
    delete_dir: str = ""
    delete_env: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ComposeSpec:
    project_files: tuple[str, ...] = ()
    service: str = ""
    image_refs: tuple[str, ...] = ()
    project: str = ""  # the Compose project name (docker_compose's project_name, or compose's default)
    env_file: str = ""  # docker_compose(env_file=): passed to compose as --env-file
    # A digest of the service's definition (its merged YAML): an edit to it changes the resource,
    # so the service is deployed again, as Tilt does.
    config_digest: str = ""
    # A digest of the whole project as lockstep reads it (every compose file, included ones,
    # the variables, the services' env_files). Not part of the resource's identity: an edit
    # elsewhere in the project leaves a running service alone, but gives one that failed (its
    # update, or its container) another `up`, as Tilt re-runs `up` for an edited project.
    project_digest: str = field(default="", compare=False)
    # The service has a `build:` section and no image of the Tiltfile: Compose builds it (`up --build`).
    compose_builds: bool = False
    # A dependent waits for it with `condition: service_completed_successfully` (a migration):
    # it is ready once its container exited 0, not while it runs.
    ready_when_completed: bool = False


@dataclass(frozen=True)
class Resource:
    """One node of the graph. `deps` are absolute watched paths."""

    name: str
    kind: ResourceKind
    deps: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    resource_deps: tuple[str, ...] = ()
    trigger_mode: TriggerMode = TriggerMode.AUTO
    auto_init: bool = True
    labels: tuple[str, ...] = ()
    links: tuple[Link, ...] = ()
    local: LocalSpec | None = None
    k8s: K8sSpec | None = None
    compose: ComposeSpec | None = None
    images: tuple[ImageTarget, ...] = ()
    # Off only when the user asks for Tilt's looser behaviour (C2).
    propagate: bool = True
    location: SourceLocation | None = None

    @property
    def has_update(self) -> bool:
        if self.local is not None:
            return not self.local.cmd.empty
        return True


@dataclass(frozen=True)
class Settings:
    max_parallel_updates: int = 3
    k8s_upsert_timeout_secs: int = 30
    # update_settings(k8s_server_side_apply=): "true", "false", "auto" ("" = not set).
    k8s_server_side_apply: str = ""
    suppress_unused_image_warnings: tuple[str, ...] = ()
    watch_ignore: tuple[str, ...] = ()
    # default_registry(host, host_from_cluster, single_name): see k8s/registry.py.
    default_registry: str = ""
    registry_host_from_cluster: str = ""
    registry_single_name: str = ""
    allowed_k8s_contexts: tuple[str, ...] = ()
    k8s_context: str = ""
    k8s_namespace: str = ""
    version_constraint: str = ""
    ci_timeout_secs: float = 1800.0
    # Coalescing window for file changes (C3), in seconds.
    quiet_secs: float = 0.2
    max_wait_secs: float = 10.0
    propagate: bool = True
    team_id: str = ""


@dataclass(frozen=True)
class LoadResult:
    """Everything a Tiltfile evaluation produced. Never raises; errors are data."""

    tiltfile: str
    resources: tuple[Resource, ...] = ()
    images: tuple[ImageTarget, ...] = ()
    # Every file the evaluation read: a change to one re-evaluates the Tiltfile.
    config_files: tuple[str, ...] = ()
    settings: Settings = Settings()
    enabled_resources: tuple[str, ...] | None = None
    warnings: tuple[Diagnostic, ...] = ()
    errors: tuple[Diagnostic, ...] = ()
    # Commands run (or, in dry-run mode, recorded) by `local()`.
    local_commands: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    printed: tuple[str, ...] = field(default=())
    # v1alpha1.* objects the Tiltfile declared, recorded as (kind, JSON of the arguments).
    api_objects: tuple[tuple[str, str], ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors

    def resource(self, name: str) -> Resource | None:
        for r in self.resources:
            if r.name == name:
                return r
        return None
