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


# Helpers that build the nested values of those objects: they return their arguments, so
# they can be passed into an object (and show up in its recorded JSON).
HELPERS = (
    "config_map_disable_source", "disable_source", "exec_action", "forward", "http_get_action",
    "http_header", "handler", "ignore_def", "kubernetes_apply_cmd", "kubernetes_discovery_template_spec",
    "kubernetes_image_locator", "kubernetes_image_object_descriptor", "kubernetes_watch_ref",
    "label_selector", "label_selector_requirement", "object_selector", "pod_log_stream_template_spec",
    "port_forward_template_spec", "probe", "restart_on_spec", "start_on_spec", "tcp_socket_action",
    "ui_bool_input_spec", "ui_component_location", "ui_hidden_input_spec", "ui_input_spec",
    "ui_text_input_spec",
)


def _helper(st: EvalState, a: Args) -> dict[str, object]:
    return {k: v for k, v in a.values.items() if v is not None}


def _recorder(kind: str) -> BuiltinFn:
    def record(st: EvalState, a: Args) -> None:
        st.api_objects.append((kind, json.dumps(a.values, default=str, sort_keys=True)))

    return record


for _kind in KINDS:
    builtin(f"v1alpha1.{_kind}", loose=True)(_recorder(_kind))

for _helper_name in HELPERS:
    builtin(f"v1alpha1.{_helper_name}", loose=True)(_helper)
