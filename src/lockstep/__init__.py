"""lockstep: a Tiltfile-compatible dev-loop orchestrator with lockstep ordering."""

__version__ = "0.1.0"
