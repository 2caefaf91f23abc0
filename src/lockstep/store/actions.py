"""Actions: every change to the engine state is one of these, with its time.

Timestamps travel inside actions so that reducers never read a clock (and a
fake clock drives the tests). Facts about the machine travel the same way:
reducers never touch the filesystem either.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lockstep.model.resource import Diagnostic, LoadResult, TriggerMode
from lockstep.model.update import Outputs


@dataclass(frozen=True)
class ConfigLoaded:
    result: LoadResult
    at: float
    # The directories at the filesystem root, observed by whoever loaded the
    # config: they decide whether an ignore pattern `/tmp/x` is absolute.
    root_dirs: frozenset[str] = frozenset()
    # The resources whose runtime a registered runtime controller supervises.
    runtimes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ConfigFailed:
    errors: tuple[Diagnostic, ...]
    at: float


@dataclass(frozen=True)
class FilesChanged:
    paths: frozenset[str]
    at: float


@dataclass(frozen=True)
class ConfigFilesChanged:
    paths: frozenset[str]
    at: float


@dataclass(frozen=True)
class ConfigReloadStarted:
    at: float


@dataclass(frozen=True)
class UpdateStarted:
    update_id: int
    resource: str
    at: float


@dataclass(frozen=True)
class UpdateFinished:
    update_id: int
    resource: str
    ok: bool
    at: float
    error: str = ""
    # Stopped by lockstep (disabled, removed, shutdown), not a failure of the command.
    cancelled: bool = False
    outputs: Outputs = field(default_factory=Outputs)
    # A live update (synced into the running container) rather than a rebuild.
    live_update: bool = False


@dataclass(frozen=True)
class RuntimeStarted:
    resource: str
    at: float


@dataclass(frozen=True)
class RuntimeReady:
    resource: str
    ready: bool
    at: float


@dataclass(frozen=True)
class ProbeResult:
    resource: str
    ok: bool
    detail: str
    at: float


@dataclass(frozen=True)
class RuntimeExited:
    resource: str
    code: int
    at: float


@dataclass(frozen=True)
class RuntimeStopped:
    resource: str
    at: float


@dataclass(frozen=True)
class Trigger:
    resource: str
    at: float


@dataclass(frozen=True)
class SetEnabled:
    resource: str
    enabled: bool
    at: float


@dataclass(frozen=True)
class SetTriggerMode:
    resource: str
    mode: TriggerMode
    at: float


@dataclass(frozen=True)
class RestoreInferred:
    edges: frozenset[tuple[str, str]]
    at: float
    # (writer, reader) -> what the edge was learnt from.
    evidence: tuple[tuple[tuple[str, str], str], ...] = ()


@dataclass(frozen=True)
class WriterEvidence:
    """A running update was seen writing a resource's files (C4)."""

    writer: str
    reader: str
    paths: tuple[str, ...]
    evidence: str
    at: float


@dataclass(frozen=True)
class ForgetInferred:
    edges: frozenset[tuple[str, str]]
    at: float


@dataclass(frozen=True)
class ForgetAllInferred:
    at: float


@dataclass(frozen=True)
class ReloadRequested:
    """Re-read the Tiltfile now (the `args` command), without waiting for a quiet window."""

    at: float


@dataclass(frozen=True)
class Tick:
    at: float


Action = (
    ConfigLoaded
    | ConfigFailed
    | FilesChanged
    | ConfigFilesChanged
    | ConfigReloadStarted
    | ReloadRequested
    | UpdateStarted
    | UpdateFinished
    | RuntimeStarted
    | RuntimeReady
    | RuntimeExited
    | ProbeResult
    | RuntimeStopped
    | Trigger
    | SetEnabled
    | SetTriggerMode
    | RestoreInferred
    | WriterEvidence
    | ForgetInferred
    | ForgetAllInferred
    | Tick
)
