"""Global settings builtins: update_settings, watch_settings, *_settings, k8s contexts, registry."""

from __future__ import annotations

import os
import re
from typing import Any

from lockstep.tiltfile.args import Args, TiltfileError
from lockstep.tiltfile.refs import host_error, try_ref
from lockstep.tiltfile.registry import builtin
from lockstep.tiltfile.state import EvalState


@builtin("update_settings", "max_parallel_updates k8s_upsert_timeout_secs suppress_unused_image_warnings "
         "k8s_server_side_apply")
def _update_settings(st: EvalState, a: Args) -> None:
    if a.has("max_parallel_updates"):
        n = _strict_int(a, "max_parallel_updates")
        if n < 1:
            raise TiltfileError(f"update_settings(): max_parallel_updates must be >= 1, got {n}",
                                hint="pass max_parallel_updates=3")
        st.settings["max_parallel_updates"] = n
    if a.has("k8s_upsert_timeout_secs"):
        n = _strict_int(a, "k8s_upsert_timeout_secs")
        if n < 1:
            raise TiltfileError(f"update_settings(): k8s_upsert_timeout_secs must be at least 1, got {n}",
                                hint="pass k8s_upsert_timeout_secs=30")
        st.settings["k8s_upsert_timeout_secs"] = n
    # Tilt appends: each call adds to the refs already suppressed.
    st.settings["suppress_unused_image_warnings"] = st.settings.get("suppress_unused_image_warnings", ()) + \
        a.str_list("suppress_unused_image_warnings")
    ssa = a.string("k8s_server_side_apply")
    if ssa not in ("", "true", "false", "auto"):
        raise TiltfileError(f"update_settings(): k8s_server_side_apply must be \"true\", \"false\" or "
                            f"\"auto\", got {ssa!r}", hint='pass k8s_server_side_apply="auto"')
    if ssa:
        st.settings["k8s_server_side_apply"] = ssa


def _strict_int(a: Args, name: str) -> int:
    value = a.raw(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise a.bad(name, "an int", value, "3")
    return value


@builtin("watch_settings", "ignore", 1)
def _watch_settings(st: EvalState, a: Args) -> None:
    ignores = st.settings.get("watch_ignore", ())
    st.settings["watch_ignore"] = ignores + a.str_list("ignore")


@builtin("version_settings", "check_updates constraint")
def _version_settings(st: EvalState, a: Args) -> None:
    a.boolean("check_updates", True)
    if a.has("constraint"):
        st.settings["version_constraint"] = a.string("constraint")


@builtin("ci_settings", "k8s_grace_period timeout readiness_timeout")
def _ci_settings(st: EvalState, a: Args) -> None:
    for key in ("timeout", "readiness_timeout", "k8s_grace_period"):
        text = a.string(key)
        if text and not _DURATION.fullmatch(text.strip()):
            raise TiltfileError(f"ci_settings(): `{key}` {text!r} is not a duration",
                                hint=f"write it as Go does: {key}='30m', '90s' or '1h30m'")
    timeout = a.string("timeout")
    if timeout:
        st.settings["ci_timeout_secs"] = parse_duration(timeout)


_DURATION = re.compile(r"(\d+(\.\d+)?(ns|us|\u00b5s|ms|s|m|h))+|0")


def parse_duration(text: str) -> float:
    """Go-style durations as Tilt accepts them: 30s, 10m, 1h30m."""
    total, number = 0.0, ""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0}
    for ch in text.strip():
        if ch.isdigit() or ch == ".":
            number += ch
        elif ch in units and number:
            total += float(number) * units[ch]
            number = ""
    return total + (float(number) if number else 0.0)


@builtin("secret_settings", "disable_scrub")
def _secret_settings(st: EvalState, a: Args) -> None:
    a.boolean("disable_scrub")


@builtin("docker_prune_settings", "disable max_age_mins num_builds interval_hrs keep_recent")
def _docker_prune_settings(st: EvalState, a: Args) -> None:
    a.boolean("disable")
    if a.integer("num_builds") and a.integer("interval_hrs"):
        raise TiltfileError("docker_prune_settings(): pass only one of `num_builds` and `interval_hrs`",
                            hint="prune every N builds, or every N hours, not both")


@builtin("analytics_settings", "enable", 1)
def _analytics_settings(st: EvalState, a: Args) -> None:
    a.boolean("enable")


@builtin("allow_k8s_contexts", "contexts", 1)
def _allow_k8s_contexts(st: EvalState, a: Args) -> None:
    st.settings["allowed_k8s_contexts"] = st.settings.get("allowed_k8s_contexts", ()) + a.str_list("contexts")


@builtin("default_registry", "host host_from_cluster single_name", 1, located=True)
def _default_registry(st: EvalState, a: Args) -> None:
    if st.settings.get("default_registry"):
        raise TiltfileError("default_registry() is already set", hint="call default_registry() once")
    host = a.string("host")
    from_cluster = a.string("host_from_cluster")
    single_name = a.string("single_name")
    for param, value in (("host", host), ("host_from_cluster", from_cluster)):
        if param == "host" or value:
            why = host_error(value)
            if why:
                raise TiltfileError(f"default_registry(): invalid {param} {value!r}: {why}",
                                    hint="e.g. default_registry('localhost:5000') or "
                                         "default_registry('gcr.io/my-project')")
    if single_name and try_ref(f"{host}/{single_name}") is None:
        raise TiltfileError(f"default_registry(): invalid single_name {single_name!r}",
                            hint="a repository name: lowercase letters, digits, and . _ - / separators")
    st.settings["default_registry"] = host
    st.settings["registry_host_from_cluster"] = from_cluster
    st.settings["registry_single_name"] = single_name
    st.default_registry_location = st.call_location


def _kubeconfig(st: EvalState) -> dict[str, Any]:
    import yaml  # only for k8s_context(): see files.py

    paths = (st.getenv("KUBECONFIG") or os.path.expanduser("~/.kube/config")).split(os.pathsep)
    for path in paths:
        try:
            with open(path, encoding="utf-8") as fh:
                data = yaml.safe_load(fh)
        except (OSError, yaml.YAMLError):
            continue
        if isinstance(data, dict):
            return data
    return {}


@builtin("k8s_context")
def _k8s_context(st: EvalState, a: Args) -> str:
    # Read from kubeconfig rather than running kubectl: evaluation stays fast and offline.
    context = str(_kubeconfig(st).get("current-context") or "")
    st.settings["k8s_context"] = context
    return context


@builtin("k8s_namespace")
def _k8s_namespace(st: EvalState, a: Args) -> str:
    config = _kubeconfig(st)
    current = config.get("current-context")
    for ctx in config.get("contexts") or []:
        if isinstance(ctx, dict) and ctx.get("name") == current:
            namespace = (ctx.get("context") or {}).get("namespace")
            if namespace:
                return str(namespace)
    return "default"
