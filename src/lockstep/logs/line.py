"""What a log line is: its resource, source, level, stream, time and text, numbered by `seq`."""

from __future__ import annotations

import enum
from typing import NamedTuple


class LogSource(enum.Enum):
    BUILD = "build"
    RUNTIME = "runtime"
    SYSTEM = "system"


class LogStream(enum.Enum):
    """Which pipe a process line came from; NONE for lockstep's own lines. Not a level."""

    NONE = "none"
    STDOUT = "out"
    STDERR = "err"


class LogLevel(enum.Enum):
    INFO = "info"
    WARN = "warn"
    ERROR = "error"


class LogLine(NamedTuple):
    """One line; immutable. A named tuple: built in a quarter of a frozen dataclass's time."""

    seq: int
    resource: str
    source: LogSource
    level: LogLevel
    at: float
    text: str
    stream: LogStream = LogStream.NONE
