"""Argument binding for builtins: Tilt's parameter names, positional order, and friendly errors.

starlark-pyo3 hands a Python callable plain positional values and a kwargs dict, with
no signature checking of its own. Binding here lets every builtin reject an unknown
keyword with a "did you mean", and every accessor name the parameter and the fix when
a value has the wrong type, instead of surfacing a Python TypeError.
"""

from __future__ import annotations

import difflib
import enum
from collections.abc import Mapping, Sequence
from typing import TypeVar

from lockstep.model.resource import Cmd, SourceLocation

E = TypeVar("E", bound=enum.Enum)


class TiltfileError(Exception):
    """An error in the Tiltfile (not in lockstep): becomes a Diagnostic with a fix."""

    def __init__(self, message: str, hint: str = "", location: SourceLocation | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.location = location


def closest(name: str, candidates: Sequence[str] | set[str] | Mapping[str, object]) -> str | None:
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(name: str, candidates: Sequence[str] | set[str] | Mapping[str, object]) -> str:
    match = closest(name, candidates)
    return f"did you mean `{match}`?" if match else ""


def type_name(value: object) -> str:
    """The Starlark name of a converted value's type, for error messages."""
    names = {str: "string", bool: "bool", int: "int", float: "float", list: "list",
             tuple: "tuple", dict: "dict", type(None): "NoneType"}
    return names.get(type(value), type(value).__name__)


class Args:
    """Bound arguments of one builtin call, with typed accessors that explain mistakes."""

    def __init__(self, fname: str, values: dict[str, object]) -> None:
        self.fname = fname
        self.values = values

    def has(self, name: str) -> bool:
        return self.values.get(name) is not None

    def raw(self, name: str, default: object = None) -> object:
        value = self.values.get(name)
        return default if value is None else value

    def bad(self, name: str, want: str, value: object, example: str) -> TiltfileError:
        return TiltfileError(
            f"{self.fname}: `{name}` must be {want}, got {type_name(value)} ({_short(value)})",
            hint=f"pass {name}={example}",
        )

    def string(self, name: str, default: str = "") -> str:
        value = self.values.get(name)
        if value is None:
            return default
        if isinstance(value, str):
            return value
        raise self.bad(name, "a string", value, '"..."')

    def choice(self, name: str, kind: type[E]) -> E | None:
        """One of an enum's values, given as its string; None when not given (or empty)."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        for member in kind:
            if value == member.value:
                return member
        allowed = [str(m.value) for m in kind if m.value]
        raise TiltfileError(
            f"{self.fname}: `{name}` must be one of {', '.join(repr(v) for v in allowed)}, got {_short(value)}",
            hint=f"pass {name}={allowed[0]!r}",
        )

    def opt_str(self, name: str) -> str | None:
        return self.string(name) if self.has(name) else None

    def boolean(self, name: str, default: bool = False) -> bool:
        value = self.values.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        raise self.bad(name, "True or False", value, "True")

    def integer(self, name: str, default: int = 0) -> int:
        value = self.values.get(name)
        if value is None:
            return default
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().isdigit():
            # Tilt's port arguments accept "8080" as well as 8080.
            return int(value.strip())
        raise self.bad(name, "an int", value, "8080")

    def number(self, name: str, default: float = 0.0) -> float:
        value = self.values.get(name)
        if value is None:
            return default
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise self.bad(name, "a number", value, "1")

    def str_list(self, name: str) -> tuple[str, ...]:
        """A string or a list of strings (Tilt accepts both nearly everywhere)."""
        value = self.values.get(name)
        if value is None:
            return ()
        if isinstance(value, str):
            return (value,)
        if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            return tuple(str(v) for v in value)
        raise self.bad(name, "a string or a list of strings", value, '["..."]')

    def str_seq(self, name: str) -> tuple[str, ...]:
        """A list of strings, where Tilt takes a sequence and rejects a lone string
        (`resource_deps='db'`): the fix names the list to write."""
        value = self.values.get(name)
        if value is None:
            return ()
        if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            return tuple(str(v) for v in value)
        example = f"[{value!r}]" if isinstance(value, str) else '["..."]'
        raise self.bad(name, "a list of strings", value, example)

    def str_dict(self, name: str) -> tuple[tuple[str, str], ...]:
        value = self.values.get(name)
        if value is None:
            return ()
        if isinstance(value, dict):
            return tuple((str(k), _scalar_str(v)) for k, v in value.items())
        raise self.bad(name, "a dict of strings", value, '{"KEY": "value"}')

    def cmd(self, name: str) -> Cmd:
        return to_cmd(self.values.get(name), self, name)

    def items(self, name: str) -> list[object]:
        value = self.values.get(name)
        if value is None:
            return []
        if isinstance(value, list | tuple):
            return list(value)
        return [value]


def to_cmd(value: object, args: Args, name: str) -> Cmd:
    """Tilt's command rule: a string runs under `sh -c`, a list is exec'd as is."""
    if value is None or value == "" or value == []:
        return Cmd(())
    if isinstance(value, str):
        return Cmd(("sh", "-c", value))
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return Cmd(tuple(str(v) for v in value))
    raise args.bad(name, "a string or a list of strings", value, '"make build"')


def _scalar_str(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def bind(fname: str, params: Sequence[str], required: int,
         args: Sequence[object], kwargs: Mapping[str, object], positional: int | None = None) -> Args:
    """Match a call's arguments to `params` the way Starlark does for a native function."""
    limit = len(params) if positional is None else positional
    if len(args) > limit:
        raise TiltfileError(
            f"{fname}() takes at most {limit} positional argument{'s' if limit != 1 else ''}, got {len(args)}",
            hint=f"pass the extra values by keyword; parameters are: {', '.join(params)}",
        )
    values: dict[str, object] = dict(zip(params, args, strict=False))
    for key, value in kwargs.items():
        if key not in params:
            suggestion = did_you_mean(key, params)
            hint = suggestion or f"{fname}() accepts: {', '.join(params)}"
            raise TiltfileError(f"{fname}() got an unexpected keyword argument `{key}`", hint=hint)
        if key in values:
            raise TiltfileError(f"{fname}() got multiple values for `{key}`",
                                hint=f"pass `{key}` either by position or by keyword, not both")
        values[key] = value
    missing = [p for p in params[:required] if p not in values]
    if missing:
        raise TiltfileError(f"{fname}() is missing required argument `{missing[0]}`",
                            hint=f"call it as {fname}({', '.join(params[:required])}, ...)")
    return Args(fname, values)
