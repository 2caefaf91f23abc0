"""config.*: Tiltfile arguments (after `--`), tilt_config.json, enabled resources.

Semantics follow Tilt: definitions first, then config.parse() merges
`tilt_config.json` (beside the main Tiltfile) with command-line arguments, the
command line winning. Only settings that were given appear in the result.
"""

from __future__ import annotations

import json
import os
from typing import Any

from lockstep.tiltfile.args import Args, TiltfileError, did_you_mean
from lockstep.tiltfile.limits import read_text_file
from lockstep.tiltfile.registry import builtin
from lockstep.tiltfile.state import ConfigDef, ConfigKind, EvalState


def _define(st: EvalState, a: Args, kind: ConfigKind) -> None:
    name = a.string("name")
    if not name:
        raise TiltfileError(f"config.define_{kind}: `name` is required", hint='pass name="env"')
    if st.config_parsed:
        raise TiltfileError(f"config.define_{kind}(): cannot be called after config.parse()",
                            hint="move every config.define_*() call above config.parse()")
    if name in st.config_defs:
        raise TiltfileError(f"config.define_{kind.value}: `{name}` is already defined",
                            hint="define each setting once")
    if a.boolean("args") and any(d.args for d in st.config_defs.values()):
        raise TiltfileError(f"config.define_{kind.value}: only one setting can take positional args",
                            hint="remove args=True from one of the definitions")
    st.config_defs[name] = ConfigDef(name, kind, a.boolean("args"), a.string("usage"))


@builtin("config.define_string", "name args usage", 1)
def _define_string(st: EvalState, a: Args) -> None:
    _define(st, a, ConfigKind.STRING)


@builtin("config.define_string_list", "name args usage", 1)
def _define_string_list(st: EvalState, a: Args) -> None:
    _define(st, a, ConfigKind.STRING_LIST)


@builtin("config.define_bool", "name args usage", 1)
def _define_bool(st: EvalState, a: Args) -> None:
    _define(st, a, ConfigKind.BOOL)


@builtin("config.define_object", "name args usage", 1)
def _define_object(st: EvalState, a: Args) -> None:
    _define(st, a, ConfigKind.OBJECT)


def _convert(d: ConfigDef, raw: str) -> Any:
    if d.kind is ConfigKind.BOOL:
        if raw.lower() in ("", "true", "1"):
            return True
        if raw.lower() in ("false", "0"):
            return False
        raise TiltfileError(f"config: --{d.name} expects true or false, got {raw!r}",
                            hint=f"pass --{d.name}=true or --{d.name}=false")
    if d.kind is ConfigKind.OBJECT:
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            raise TiltfileError(f"config: --{d.name} expects JSON", hint="pass a JSON value") from None
    return raw


def parse_args(st: EvalState, argv: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    positional = next((d for d in st.config_defs.values() if d.args), None)
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg.startswith("--") and len(arg) > 2:
            name, eq, value = arg[2:].partition("=")
            d = st.config_defs.get(name)
            if d is None:
                hint = did_you_mean(name, st.config_defs) or \
                    f"known settings: {', '.join(st.config_defs) or '(none defined)'}"
                raise TiltfileError(f"config.parse: unknown flag --{name}", hint=hint)
            if not eq and d.kind is not ConfigKind.BOOL:
                if i >= len(argv):
                    raise TiltfileError(f"config.parse: --{name} needs a value", hint=f"pass --{name}=VALUE")
                value = argv[i]
                i += 1
            converted = _convert(d, value)
            if d.kind is ConfigKind.STRING_LIST:
                out.setdefault(name, []).append(converted)
            else:
                out[name] = converted
            continue
        if positional is None:
            raise TiltfileError(f"config.parse: unexpected positional argument {arg!r}",
                                hint="define a setting with args=True to accept positional arguments")
        if positional.kind is ConfigKind.STRING_LIST:
            out.setdefault(positional.name, []).append(arg)
        else:
            out[positional.name] = _convert(positional, arg)
    return out


@builtin("config.parse", located=True)
def _parse(st: EvalState, a: Args) -> dict[str, Any]:
    # Called: the arguments are config.parse()'s from here on, even when they turn out to be
    # wrong (they must not then also be read as resource names, Tilt's rule without parse()).
    st.config_parsed = True
    result: dict[str, Any] = {}
    path = os.path.join(os.path.dirname(st.main_path), "tilt_config.json")
    st.watch(path)
    if os.path.exists(path):
        try:
            stored = json.loads(read_text_file(path, "config.parse"))
        except (OSError, json.JSONDecodeError) as exc:
            raise TiltfileError(f"config.parse: cannot read {path}: {exc}", hint="fix the JSON") from None
        if isinstance(stored, dict):
            for key, value in stored.items():
                if key not in st.config_defs:
                    raise TiltfileError(f"config.parse: {path} sets unknown setting `{key}`",
                                        hint=did_you_mean(key, st.config_defs) or "define it first")
                result[key] = value
    result.update(parse_args(st, st.args))
    return result


@builtin("config.set_enabled_resources", "resources", 1)
def _set_enabled(st: EvalState, a: Args) -> None:
    st.enabled_resources = a.str_list("resources")


@builtin("config.clear_enabled_resources")
def _clear_enabled(st: EvalState, a: Args) -> None:
    st.enabled_resources = ()


@builtin("config.main_path", value=True)
def _main_path(st: EvalState, a: Args) -> str:
    return st.main_path


@builtin("config.main_dir", value=True)
def _main_dir(st: EvalState, a: Args) -> str:
    return os.path.dirname(st.main_path)


@builtin("config.tilt_subcommand", value=True)
def _subcommand(st: EvalState, a: Args) -> str:
    return st.subcommand
