"""The JSONPath dialect of `kubectl -o jsonpath`, as Tilt's image_json_path uses it.

Supported: `{.a.b}`, `['a']`, `[0]`, `[-1]`, `[*]`, `[1:3]`, `..name` (recursive descent),
and filters `[?(@.name=='web')]`, `[?(@.port>80)]`, `[?(@.image)]`. Several `{...}` groups
are evaluated one after another. Anything else is a JsonPathError naming the position.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any


class JsonPathError(ValueError):
    pass


Step = Callable[[list[Any]], list[Any]]

_FILTER = re.compile(r"\?\(\s*@((?:\.[\w-]+|\['[^']*'\])*)\s*(?:(==|!=|<=|>=|<|>)\s*(.+?))?\s*\)")


def compile_path(path: str) -> list[Step]:
    text = path.strip()
    groups = re.findall(r"\{([^{}]*)\}", text) if "{" in text else [text]
    if "{" in text and not groups:
        raise JsonPathError(f"unbalanced braces in {path!r}")
    steps: list[Step] = []
    for group in groups:
        steps.extend(_compile_group(group.strip(), path))
    return steps


def evaluate(doc: Any, path: str) -> list[Any]:
    nodes: list[Any] = [doc]
    for step in compile_path(path):
        nodes = step(nodes)
    return nodes


def _compile_group(expr: str, whole: str) -> list[Step]:
    steps: list[Step] = []
    i = 0
    if expr.startswith("$"):
        i = 1
    while i < len(expr):
        if expr.startswith("..", i):
            i += 2
            m = re.match(r"[\w-]+|\*", expr[i:])
            steps.append(_descend)
            if m:
                steps.append(_field(m.group(0)))
                i += m.end()
            continue
        c = expr[i]
        if c == ".":
            i += 1
            m = re.match(r"[\w-]+|\*", expr[i:])
            if not m:
                if i >= len(expr):
                    break  # `{.}`: the node itself
                raise JsonPathError(f"expected a field name at position {i} of {whole!r}")
            steps.append(_field(m.group(0)))
            i += m.end()
        elif c == "[":
            end = _closing(expr, i, whole)
            steps.append(_bracket(expr[i + 1 : end].strip(), whole))
            i = end + 1
        elif c.isspace():
            i += 1
        else:
            m = re.match(r"[\w-]+", expr[i:])
            if not m:
                raise JsonPathError(f"unexpected {c!r} at position {i} of {whole!r}")
            steps.append(_field(m.group(0)))
            i += m.end()
    return steps


def _closing(expr: str, start: int, whole: str) -> int:
    depth, quote = 0, ""
    for j in range(start, len(expr)):
        ch = expr[j]
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth == 0:
                return j
    raise JsonPathError(f"unclosed `[` in {whole!r}")


def _field(name: str) -> Step:
    def step(nodes: list[Any]) -> list[Any]:
        out: list[Any] = []
        for n in nodes:
            if name == "*":
                out.extend(n.values() if isinstance(n, dict) else n if isinstance(n, list) else [])
            elif isinstance(n, dict) and name in n:
                out.append(n[name])
        return out

    return step


def _descend(nodes: list[Any]) -> list[Any]:
    out: list[Any] = []

    def walk(n: Any) -> None:
        out.append(n)
        children = n.values() if isinstance(n, dict) else n if isinstance(n, list) else ()
        for child in children:
            walk(child)

    for n in nodes:
        walk(n)
    return out


def _bracket(inner: str, whole: str) -> Step:
    if inner in ("*", ""):
        return _field("*")
    if inner[:1] in "'\"" and inner[-1:] == inner[:1]:
        names = [p.strip().strip("'\"") for p in inner.split(",")]
        fields = [_field(n) for n in names]
        return lambda nodes: [v for f in fields for v in f(nodes)]
    if inner.startswith("?"):
        return _filter(inner, whole)
    if re.fullmatch(r"-?\d*:-?\d*(?::-?\d+)?", inner):
        parts = [int(p) if p else None for p in inner.split(":")]
        sl = slice(*parts)
        return lambda nodes: [v for n in nodes if isinstance(n, list) for v in n[sl]]
    if re.fullmatch(r"-?\d+(\s*,\s*-?\d+)*", inner):
        indexes = [int(p) for p in inner.split(",")]
        return lambda nodes: [n[k] for n in nodes if isinstance(n, list)
                              for k in indexes if -len(n) <= k < len(n)]
    raise JsonPathError(f"unsupported subscript [{inner}] in {whole!r}")


def _filter(inner: str, whole: str) -> Step:
    m = _FILTER.fullmatch(inner)
    if not m:
        raise JsonPathError(f"unsupported filter [{inner}] in {whole!r}: use [?(@.field=='value')]")
    keys = re.findall(r"\.([\w-]+)|\['([^']*)'\]", m.group(1))
    path = [a or b for a, b in keys]
    op, literal = m.group(2), m.group(3)
    want = _literal(literal, whole) if op else None

    def get(item: Any) -> tuple[bool, Any]:
        for key in path:
            if not isinstance(item, dict) or key not in item:
                return False, None
            item = item[key]
        return True, item

    def keep(item: Any) -> bool:
        found, value = get(item)
        if not op:
            return found and value not in (None, False, "", 0)
        if not found:
            return False
        try:
            return bool(_OPS[op](value, want))
        except TypeError:
            return False

    def step(nodes: list[Any]) -> list[Any]:
        out: list[Any] = []
        for n in nodes:
            items = n if isinstance(n, list) else list(n.values()) if isinstance(n, dict) else []
            out.extend(item for item in items if keep(item))
        return out

    return step


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
    ">": lambda a, b: a > b, "<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b,
}


def _literal(text: str, whole: str) -> Any:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    if text in ("true", "false"):
        return text == "true"
    try:
        return float(text) if "." in text else int(text)
    except ValueError:
        raise JsonPathError(f"cannot read {text!r} in a filter of {whole!r}: quote strings") from None
