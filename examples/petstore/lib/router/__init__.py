"""A small HTTP router: path templates with typed parameters and method dispatch.

    router = Router()
    router.add("GET", "/api/pets/{petId:int}", get_pet)
    match = router.match("GET", "/api/pets/7")   # Match(handler=get_pet, params={"petId": 7}, ...)

Templates are split on "/". A segment is either literal text or a single parameter
``{name}`` / ``{name:converter}`` (converters: ``str`` (default), ``int``, ``path`` — the
last one only as the final segment, and it swallows the rest of the path). When several
templates match a path, the most specific one wins: literal segments beat parameters,
and parameters beat a trailing ``path``. Registering two templates that would match
exactly the same paths with the same method is an error (``RouteConflict``), so a route
table can be checked when it is built rather than when a request is misrouted.

``match`` raises ``NotFound`` when no template matches the path and ``MethodNotAllowed``
(carrying the allowed methods, for an ``Allow`` header) when templates match the path
but none for this method. HEAD falls back to GET.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

__all__ = [
    "Match",
    "MethodNotAllowed",
    "NotFound",
    "Route",
    "RouteConflict",
    "Router",
    "RouterError",
    "TemplateError",
    "parse_template",
]

__version__ = "1.0.0"

_PARAM = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_]*)(?::([a-z]+))?\}$")
_METHOD = re.compile(r"^[A-Z]+$")
_INT = re.compile(r"^-?[0-9]+$")


class RouterError(Exception):
    """Base class of the router's errors."""


class TemplateError(RouterError):
    """A path template is malformed."""


class RouteConflict(RouterError):
    """Two routes would match exactly the same requests."""


class NotFound(RouterError):
    """No route matches the path."""


class MethodNotAllowed(RouterError):
    """Routes match the path, but none for the request's method."""

    def __init__(self, method: str, path: str, allowed: tuple[str, ...]) -> None:
        super().__init__(f"{method} not allowed on {path} (allowed: {', '.join(allowed)})")
        self.method = method
        self.path = path
        self.allowed = allowed


def _convert_str(raw: str) -> str | None:
    return raw if raw else None


def _convert_int(raw: str) -> int | None:
    return int(raw) if _INT.match(raw) else None


_CONVERTERS: dict[str, Callable[[str], Any]] = {"str": _convert_str, "int": _convert_int}


@dataclass(frozen=True)
class Segment:
    literal: str | None = None  # set for a literal segment
    name: str | None = None  # set for a parameter
    converter: str = "str"

    @property
    def rank(self) -> int:
        """Lower is more specific: literal < typed parameter < str parameter < path."""
        if self.literal is not None:
            return 0
        return {"int": 1, "str": 2, "path": 3}[self.converter]


def parse_template(template: str) -> tuple[Segment, ...]:
    """Split a template into segments, rejecting anything ambiguous."""
    if not template.startswith("/"):
        raise TemplateError(f"template must start with '/': {template!r}")
    parts = template.split("/")[1:]
    segments: list[Segment] = []
    seen: set[str] = set()
    for index, part in enumerate(parts):
        if "{" not in part and "}" not in part:
            if part == "" and index != len(parts) - 1:
                raise TemplateError(f"empty segment in {template!r}")
            segments.append(Segment(literal=part))
            continue
        m = _PARAM.match(part)
        if not m:
            raise TemplateError(f"a parameter must fill its whole segment: {part!r} in {template!r}")
        name, conv = m.group(1), m.group(2) or "str"
        if conv not in _CONVERTERS and conv != "path":
            raise TemplateError(f"unknown converter {conv!r} in {template!r}")
        if conv == "path" and index != len(parts) - 1:
            raise TemplateError(f"a 'path' parameter must be last: {template!r}")
        if name in seen:
            raise TemplateError(f"parameter {name!r} appears twice in {template!r}")
        seen.add(name)
        segments.append(Segment(name=name, converter=conv))
    return tuple(segments)


def _shape(segments: tuple[Segment, ...]) -> tuple[tuple[str, str], ...]:
    """What a template matches, ignoring parameter names: equal shapes conflict."""
    return tuple(("lit", s.literal) if s.literal is not None else ("param", s.converter) for s in segments)


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    handler: Any
    segments: tuple[Segment, ...]
    name: str = ""

    @property
    def specificity(self) -> tuple[int, ...]:
        return tuple(s.rank for s in self.segments)


@dataclass(frozen=True)
class Match:
    route: Route
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def handler(self) -> Any:
        return self.route.handler


class Router:
    def __init__(self) -> None:
        self._routes: list[Route] = []
        self._shapes: dict[tuple[str, tuple[tuple[str, str], ...]], Route] = {}

    def add(self, method: str, template: str, handler: Any, *, name: str = "") -> Route:
        method = method.upper()
        if not _METHOD.match(method):
            raise RouterError(f"bad method {method!r}")
        segments = parse_template(template)
        key = (method, _shape(segments))
        if key in self._shapes:
            other = self._shapes[key]
            raise RouteConflict(f"{method} {template} conflicts with {other.method} {other.template}")
        route = Route(method, template, handler, segments, name)
        self._shapes[key] = route
        self._routes.append(route)
        # Most specific first, so the first match is the best one; stable for equal rank.
        self._routes.sort(key=lambda r: r.specificity)
        return route

    def route(self, method: str, template: str, *, name: str = "") -> Callable[[Any], Any]:
        """Decorator form of ``add``."""

        def register(handler: Any) -> Any:
            self.add(method, template, handler, name=name)
            return handler

        return register

    def __iter__(self) -> Iterator[Route]:
        return iter(self._routes)

    def __len__(self) -> int:
        return len(self._routes)

    def match(self, method: str, path: str) -> Match:
        method = method.upper()
        parts = path.split("/")[1:] if path.startswith("/") else None
        if parts is None:
            raise NotFound(path)
        allowed: list[str] = []
        fallback: Match | None = None
        for route in self._routes:
            params = _bind(route.segments, parts)
            if params is None:
                continue
            if route.method == method:
                return Match(route, params)
            if method == "HEAD" and route.method == "GET" and fallback is None:
                fallback = Match(route, params)
            if route.method not in allowed:
                allowed.append(route.method)
        if fallback is not None:
            return fallback
        if allowed:
            if "GET" in allowed and "HEAD" not in allowed:
                allowed.append("HEAD")
            raise MethodNotAllowed(method, path, tuple(sorted(allowed)))
        raise NotFound(path)

    def url_for(self, name: str, **params: Any) -> str:
        """Build a path from a named route, the inverse of ``match``."""
        for route in self._routes:
            if route.name == name:
                out = []
                for seg in route.segments:
                    if seg.literal is not None:
                        out.append(seg.literal)
                    else:
                        assert seg.name is not None
                        if seg.name not in params:
                            raise RouterError(f"url_for({name!r}) needs parameter {seg.name!r}")
                        out.append(str(params[seg.name]))
                return "/" + "/".join(out)
        raise RouterError(f"no route named {name!r}")


def _bind(segments: tuple[Segment, ...], parts: list[str]) -> dict[str, Any] | None:
    params: dict[str, Any] = {}
    for index, seg in enumerate(segments):
        if seg.converter == "path" and seg.name is not None:
            rest = "/".join(parts[index:])
            if not rest:
                return None
            params[seg.name] = unquote(rest)
            return params
        if index >= len(parts):
            return None
        part = parts[index]
        if seg.literal is not None:
            if part != seg.literal:
                return None
            continue
        assert seg.name is not None
        value = _CONVERTERS[seg.converter](unquote(part))
        if value is None:
            return None
        params[seg.name] = value
    return params if len(parts) == len(segments) else None
