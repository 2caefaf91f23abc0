"""The commands and their one-line help, known without importing them.

`lockstep --help` lists every command, but a run imports only the module of the
command it runs: `check` must not pay for the dashboard client or the engine.
"""

from __future__ import annotations

# The order here is the order of `lockstep --help`.
HELP: dict[str, str] = {
    "up": "start the resources and keep them up to date",
    "ci": "run until every resource is up to date (0) or one fails (1)",
    "down": "stop the running `up` for this Tiltfile and everything it started",
    "check": "evaluate and validate a Tiltfile (runs nothing)",
    "graph": "draw the resource graph (text, dot, mermaid)",
    "why": "explain why and in which order updates ran",
    "trigger": "trigger an update of resources in the running `lockstep up`",
    "logs": "print (and follow) logs of the running `lockstep up`; without one, the last run's log",
    "get": "list resources of the running `lockstep up` and their status",
    "describe": "show one resource of the running `lockstep up` in detail",
    "wait": "wait until resources of the running `lockstep up` are ready",
    "enable": "enable resources in the running `lockstep up`",
    "disable": "disable resources (stop them) in the running `lockstep up`",
    "args": "replace the Tiltfile arguments of the running `lockstep up` (after --)",
}
