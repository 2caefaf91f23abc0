"""v1alpha1.*: Tilt's API-server objects. lockstep records them (kind + arguments) without
interpreting them; most Tiltfiles use them for extension repos and UI buttons."""

from __future__ import annotations

import json

from lockstep.tiltfile.args import Args
from lockstep.tiltfile.registry import BuiltinFn, builtin
from lockstep.tiltfile.state import EvalState

KINDS = (
    "cmd", "config_map", "extension", "extension_repo", "file_watch", "kubernetes_apply",
    "kubernetes_discovery", "ui_button", "ui_resource", "ui_session", "cluster", "image_map",
    "live_update", "port_forward", "tiltfile", "toggle_button", "docker_image", "cmd_image",
    "docker_compose_service", "session",
)


def _recorder(kind: str) -> BuiltinFn:
    def record(st: EvalState, a: Args) -> None:
        st.api_objects.append((kind, json.dumps(a.values, default=str, sort_keys=True)))

    return record


for _kind in KINDS:
    builtin(f"v1alpha1.{_kind}", loose=True)(_recorder(_kind))
