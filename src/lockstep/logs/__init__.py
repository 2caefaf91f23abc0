"""lockstep.logs: bounded in memory, complete on disk."""

from lockstep.logs.store import LogLevel, LogLine, LogSource, LogStore

__all__ = ["LogLevel", "LogLine", "LogSource", "LogStore"]
