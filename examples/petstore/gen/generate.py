"""gen-petstore: generate the server's route table, handler stubs and validators from openapi.yaml.

Output: the Python package ``generated/petstore_api/``:

- ``spec.py``        the document itself (YAML text, parsed JSON, sha256), so the server
                     serves exactly the spec its code was generated from;
- ``validators.py``  one compiled check function per component schema, plus one request
                     parameter parser and one body validator per operation;
- ``routes.py``      ``OPERATIONS`` (the route table), ``PetstoreHandlers`` (stubs, one
                     method per operationId, to be overridden by the server) and
                     ``build_router`` (binds handlers into a ``router.Router``).

The route templates are checked with the router library published by build-lib
(``build_artifacts/lib``), so a spec whose paths conflict fails here, not at request time.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

# The router is imported from build_artifacts/lib: leave no __pycache__ in build outputs.
sys.dont_write_bytecode = True

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_SPEC = ROOT / "openapi.yaml"
DEFAULT_OUT = ROOT / "generated"
DEFAULT_LIB = ROOT / "build_artifacts" / "lib"
PACKAGE = "petstore_api"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


class SpecError(Exception):
    pass


def load_spec(path: Path) -> tuple[str, dict[str, Any]]:
    try:
        import yaml
    except ImportError:  # pragma: no cover - depends on the interpreter running the step
        raise SpecError(
            "gen-petstore needs PyYAML (pip install PyYAML) in the python3 that runs it"
        ) from None
    text = path.read_text(encoding="utf-8")
    doc = yaml.safe_load(text)
    if not isinstance(doc, dict) or not str(doc.get("openapi", "")).startswith("3."):
        raise SpecError(f"{path}: not an OpenAPI 3 document")
    if not isinstance(doc.get("paths"), dict):
        raise SpecError(f"{path}: no paths")
    return text, doc


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def resolve(doc: dict[str, Any], node: Any) -> Any:
    """Follow local $refs (possibly chained) to the node they name."""
    seen: set[str] = set()
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/"):
            raise SpecError(f"only local $refs are supported: {ref!r}")
        if ref in seen:
            raise SpecError(f"$ref cycle at {ref}")
        seen.add(ref)
        target: Any = doc
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, dict) or part not in target:
                raise SpecError(f"unresolvable $ref {ref}")
            target = target[part]
        node = target
    return node


class Emitter:
    """Compiles JSON-schema subsets (as used by OpenAPI 3.0) into straight-line Python checks."""

    SUPPORTED = {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "enum",
        "minLength",
        "maxLength",
        "pattern",
        "format",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minItems",
        "maxItems",
        "uniqueItems",
        "nullable",
        "default",
        "description",
        "readOnly",
        "writeOnly",
        "example",
        "title",
        "$ref",
    }

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.counter = 0
        self.patterns: dict[str, str] = {}

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def pattern_var(self, pattern: str) -> str:
        try:
            re.compile(pattern)
        except re.error as err:
            raise SpecError(f"bad pattern {pattern!r}: {err}") from None
        if pattern not in self.patterns:
            self.patterns[pattern] = f"_RE_{len(self.patterns)}"
        return self.patterns[pattern]

    def check(self, schema: dict[str, Any], value: str, path: str, indent: int) -> list[str]:
        """Lines that append an error message for every way ``value`` violates ``schema``."""
        pad = "    " * indent
        if "$ref" in schema:
            ref = schema["$ref"]
            name = ref.rsplit("/", 1)[-1]
            if not ref.startswith("#/components/schemas/"):
                return self.check(resolve(self.doc, schema), value, path, indent)
            return [f"{pad}_check_{name}({value}, {path}, errors)"]
        unknown = set(schema) - self.SUPPORTED
        if unknown:
            raise SpecError(f"unsupported schema keywords: {sorted(unknown)}")
        lines: list[str] = []
        body_indent = indent
        if schema.get("nullable"):
            lines.append(f"{pad}if {value} is not None:")
            body_indent += 1
        bpad = "    " * body_indent
        typ = schema.get("type")
        type_test = {
            "string": f"isinstance({value}, str)",
            "integer": f"isinstance({value}, int) and not isinstance({value}, bool)",
            "number": f"isinstance({value}, (int, float)) and not isinstance({value}, bool)",
            "boolean": f"isinstance({value}, bool)",
            "array": f"isinstance({value}, list)",
            "object": f"isinstance({value}, dict)",
        }
        constraints = self.constraints(schema, typ, value, path, body_indent + (1 if typ else 0))
        if typ is not None:
            if typ not in type_test:
                raise SpecError(f"unsupported type {typ!r}")
            lines.append(f"{bpad}if not ({type_test[typ]}):")
            lines.append(f'{bpad}    errors.append(f"{{{path}}}: expected {typ}, got {{_kind({value})}}")')
            if constraints:
                lines.append(f"{bpad}else:")
                lines.extend(constraints)
        else:
            lines.extend(constraints)
        if len(lines) == (1 if schema.get("nullable") else 0):
            lines.append(f"{bpad}pass")
        return lines

    def constraints(
        self, schema: dict[str, Any], typ: str | None, value: str, path: str, indent: int
    ) -> list[str]:
        pad = "    " * indent
        out: list[str] = []
        if "enum" in schema:
            choices = tuple(schema["enum"])
            shown = ", ".join(str(c) for c in choices)
            out.append(f"{pad}if {value} not in {choices!r}:")
            out.append(f'{pad}    errors.append(f"{{{path}}}: must be one of {shown}, got {{{value}!r}}")')
        if typ == "string":
            if "minLength" in schema:
                n = int(schema["minLength"])
                unit = "character" if n == 1 else "characters"
                out.append(f"{pad}if len({value}) < {n}:")
                out.append(f'{pad}    errors.append(f"{{{path}}}: must be at least {n} {unit} long")')
            if "maxLength" in schema:
                n = int(schema["maxLength"])
                unit = "character" if n == 1 else "characters"
                out.append(f"{pad}if len({value}) > {n}:")
                out.append(f'{pad}    errors.append(f"{{{path}}}: must be at most {n} {unit} long")')
            if "pattern" in schema:
                var = self.pattern_var(schema["pattern"])
                out.append(f"{pad}if not {var}.search({value}):")
                out.append(f'{pad}    errors.append(f"{{{path}}}: must match " + {var}.pattern)')
            fmt = schema.get("format")
            if fmt in ("email", "date-time", "date"):
                fn = {"email": "_is_email", "date-time": "_is_datetime", "date": "_is_date"}[fmt]
                out.append(f"{pad}if not {fn}({value}):")
                out.append(f'{pad}    errors.append(f"{{{path}}}: must be a valid {fmt}")')
        if typ in ("integer", "number"):
            for key, op, word in (
                ("minimum", "<", "at least"),
                ("maximum", ">", "at most"),
            ):
                if key in schema:
                    bound = schema[key]
                    exclusive = schema.get("exclusiveMinimum" if key == "minimum" else "exclusiveMaximum")
                    test = op + ("=" if exclusive is True else "")
                    said = (
                        ("greater than" if key == "minimum" else "less than") if exclusive is True else word
                    )
                    out.append(f"{pad}if {value} {test} {bound!r}:")
                    out.append(f'{pad}    errors.append(f"{{{path}}}: must be {said} {bound}")')
        if typ == "array":
            for key, op, word in (("minItems", "<", "at least"), ("maxItems", ">", "at most")):
                if key in schema:
                    n = int(schema[key])
                    out.append(f"{pad}if len({value}) {op} {n}:")
                    out.append(f'{pad}    errors.append(f"{{{path}}}: must have {word} {n} items")')
            if schema.get("uniqueItems"):
                out.append(f"{pad}if len({{_canon(x) for x in {value}}}) != len({value}):")
                out.append(f'{pad}    errors.append(f"{{{path}}}: items must be unique")')
            if "items" in schema:
                i, item, where = self.fresh("i"), self.fresh("item"), self.fresh("p")
                inner = self.check(schema["items"], item, where, indent + 1)
                out.append(f"{pad}for {i}, {item} in enumerate({value}):")
                out.append(f'{pad}    {where} = {path} + "[" + str({i}) + "]"')
                out.extend(inner)
        if typ == "object":
            props: dict[str, Any] = schema.get("properties", {})
            for req in schema.get("required", []):
                out.append(f"{pad}if {req!r} not in {value}:")
                out.append(f"{pad}    errors.append(f\"{{{path}}}: missing required property '{req}'\")")
            for name, sub in props.items():
                var, where = self.fresh("v"), self.fresh("p")
                inner = self.check(sub, var, where, indent + 1)
                out.append(f"{pad}if {name!r} in {value}:")
                out.append(f"{pad}    {var} = {value}[{name!r}]")
                out.append(f"{pad}    {where} = {path} + {'.' + name!r}")
                out.extend(inner)
            extra = schema.get("additionalProperties", True)
            known = tuple(props)
            if extra is False:
                var = self.fresh("extra")
                out.append(f"{pad}{var} = sorted(k for k in {value} if k not in {known!r})")
                out.append(f"{pad}if {var}:")
                noun = f"{{'unknown properties' if len({var}) > 1 else 'unknown property'}}"
                listed = f"{{', '.join(map(repr, {var}))}}"
                out.append(f'{pad}    errors.append(f"{{{path}}}: {noun} {listed}")')
            elif isinstance(extra, dict):
                k, item, where = self.fresh("k"), self.fresh("item"), self.fresh("p")
                inner = self.check(extra, item, where, indent + 2)
                out.append(f"{pad}for {k}, {item} in {value}.items():")
                out.append(f"{pad}    if {k} not in {known!r}:")
                out.append(f'{pad}        {where} = {path} + "." + str({k})')
                out.extend(inner)
        return out


def param_coercion(schema: dict[str, Any]) -> str:
    typ = schema.get("type", "string")
    if typ not in ("string", "integer", "number", "boolean"):
        raise SpecError(f"unsupported parameter type {typ!r}")
    return typ


def collect_operations(doc: dict[str, Any]) -> list[dict[str, Any]]:
    ops: list[dict[str, Any]] = []
    seen_ids: set[str] = set()
    for path, item in doc["paths"].items():
        item = resolve(doc, item)
        shared = item.get("parameters", [])
        for method in METHODS:
            if method not in item:
                continue
            op = item[method]
            op_id = op.get("operationId")
            if not op_id or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", op_id):
                raise SpecError(f"{method.upper()} {path}: needs an operationId that is an identifier")
            if op_id in seen_ids:
                raise SpecError(f"duplicate operationId {op_id}")
            seen_ids.add(op_id)
            params = []
            for raw in [*shared, *op.get("parameters", [])]:
                p = resolve(doc, raw)
                if p.get("in") not in ("path", "query"):
                    raise SpecError(f"{op_id}: only path and query parameters are supported")
                schema = p.get("schema", {})
                rschema = resolve(doc, schema)
                params.append(
                    {
                        "name": p["name"],
                        "in": p["in"],
                        "required": bool(p.get("required", p["in"] == "path")),
                        "schema": schema,
                        "coerce": param_coercion(rschema),
                        "default": rschema.get("default"),
                    }
                )
            body = None
            if "requestBody" in op:
                rb = resolve(doc, op["requestBody"])
                content = rb.get("content", {})
                if "application/json" not in content:
                    raise SpecError(f"{op_id}: request bodies must be application/json")
                body = {
                    "required": bool(rb.get("required", False)),
                    "schema": content["application/json"]["schema"],
                }
            codes = sorted(
                int(c) for c in op.get("responses", {}) if str(c).isdigit() and str(c).startswith("2")
            )
            path_names = set(re.findall(r"\{([^}]+)\}", path))
            declared = {p["name"] for p in params if p["in"] == "path"}
            if path_names != declared:
                raise SpecError(
                    f"{op_id}: path parameters {sorted(path_names)} but declared {sorted(declared)}"
                )
            ops.append(
                {
                    "operation_id": op_id,
                    "handler": snake(op_id),
                    "method": method.upper(),
                    "path": path,
                    "status": codes[0] if codes else 200,
                    "params": params,
                    "body": body,
                    "summary": op.get("summary", ""),
                    "tags": list(op.get("tags", [])),
                }
            )
    if not ops:
        raise SpecError("the document has no operations")
    return ops


RUNTIME_HELPERS = '''
def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


_EMAIL = re.compile(r"^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$")


def _is_email(value: str) -> bool:
    return bool(_EMAIL.match(value))


def _is_datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return "T" in value


def _is_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


_INT = re.compile(r"^-?[0-9]+$")


def _coerce(kind: str, raw: str, where: str, errors: list[str]) -> Any:
    """Turn a path or query string into the parameter's type, or record why it can't be."""
    if kind == "integer":
        if _INT.match(raw):
            return int(raw)
        errors.append(f"{where}: expected integer, got {raw!r}")
        return None
    if kind == "number":
        try:
            return float(raw)
        except ValueError:
            errors.append(f"{where}: expected number, got {raw!r}")
            return None
    if kind == "boolean":
        if raw in ("true", "false"):
            return raw == "true"
        errors.append(f"{where}: expected true or false, got {raw!r}")
        return None
    return raw
'''


def gen_validators(doc: dict[str, Any], ops: list[dict[str, Any]], header: str) -> str:
    em = Emitter(doc)
    funcs: list[str] = []
    schemas: dict[str, Any] = doc.get("components", {}).get("schemas", {})
    for name, schema in schemas.items():
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
            raise SpecError(f"schema name {name!r} is not an identifier")
        body = em.check(schema, "value", "path", 1)
        funcs.append(
            f"def _check_{name}(value: Any, path: str, errors: list[str]) -> None:\n" + "\n".join(body) + "\n"
        )
        funcs.append(
            f'def validate_{name}(value: Any, path: str = "body") -> list[str]:\n'
            f'    """Every way ``value`` violates schema {name}; empty when it is valid."""\n'
            f"    errors: list[str] = []\n"
            f"    _check_{name}(value, path, errors)\n"
            f"    return errors\n"
        )
    for op in ops:
        lines = [
            f"def params_{op['operation_id']}(path_params: dict[str, str], query: dict[str, list[str]])"
            " -> tuple[dict[str, Any], list[str]]:",
            f'    """Parameters of {op["method"]} {op["path"]}, coerced and validated."""',
            "    errors: list[str] = []",
            "    out: dict[str, Any] = {}",
        ]
        for p in op["params"]:
            src = "path_params" if p["in"] == "path" else "query"
            where = f"{p['in']} parameter {p['name']}"
            raw = em.fresh("raw")
            val = em.fresh("val")
            if p["in"] == "path":
                lines.append(f"    {raw} = {src}.get({p['name']!r})")
            else:
                lines.append(f"    {raw}_all = {src}.get({p['name']!r}) or []")
                lines.append(f"    if len({raw}_all) > 1:")
                lines.append(f"        errors.append({where + ': given more than once'!r})")
                lines.append(f"    {raw} = {raw}_all[-1] if {raw}_all else None")
            lines.append(f"    if {raw} is None:")
            if p["required"]:
                lines.append(f"        errors.append({where + ': required'!r})")
            elif p["default"] is not None:
                lines.append(f"        out[{p['name']!r}] = {p['default']!r}")
            else:
                lines.append("        pass")
            lines.append("    else:")
            lines.append(f"        {val} = _coerce({p['coerce']!r}, {raw}, {where!r}, errors)")
            lines.append(f"        if {val} is not None:")
            before, wvar = em.fresh("n"), em.fresh("where")
            lines.append(f"            {before} = len(errors)")
            lines.append(f"            {wvar} = {where!r}")
            lines.extend(em.check(p["schema"], val, wvar, 3))
            lines.append(f"            if len(errors) == {before}:")
            lines.append(f"                out[{p['name']!r}] = {val}")
        lines.append("    return out, errors")
        funcs.append("\n".join(lines) + "\n")
        if op["body"] is not None:
            check = em.check(op["body"]["schema"], "value", "path", 1)
            funcs.append(
                f'def body_{op["operation_id"]}(value: Any, path: str = "body") -> list[str]:\n'
                f'    """Request body of {op["method"]} {op["path"]}."""\n'
                "    errors: list[str] = []\n" + "\n".join(check) + "\n    return errors\n"
            )
    patterns = "".join(f"{var} = re.compile({pat!r})\n" for pat, var in em.patterns.items())
    return (
        header
        + "from __future__ import annotations\n\nimport json\nimport re\n"
        + "from datetime import date, datetime\nfrom typing import Any\n\n"
        + patterns
        + RUNTIME_HELPERS
        + "\n\n"
        + "\n\n".join(funcs)
    )


def gen_routes(ops: list[dict[str, Any]], header: str) -> str:
    entries = []
    stubs = []
    for op in ops:
        has_body = op["body"] is not None
        entries.append(
            "    Operation(\n"
            f"        operation_id={op['operation_id']!r},\n"
            f"        method={op['method']!r},\n"
            f"        path={op['path']!r},\n"
            f"        handler={op['handler']!r},\n"
            f"        status={op['status']!r},\n"
            f"        parse_params=validators.params_{op['operation_id']},\n"
            f"        validate_body={'validators.body_' + op['operation_id'] if has_body else 'None'},\n"
            f"        body_required={bool(has_body and op['body']['required'])!r},\n"
            f"        summary={op['summary']!r},\n"
            f"        tags={tuple(op['tags'])!r},\n"
            "    ),"
        )
        what = f"{op['operation_id']} ({op['method']} {op['path']})"
        stubs.append(
            f"    def {op['handler']}(self, params: dict[str, Any], body: Any) -> Any:\n"
            f'        """{op["method"]} {op["path"]}: {op["summary"]}"""\n'
            f"        raise NotImplementedError({what!r})\n"
        )
    return (
        header
        + f'''from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from router import Router

from . import validators


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path: str
    handler: str
    status: int
    parse_params: Callable[[dict[str, str], dict[str, list[str]]], tuple[dict[str, Any], list[str]]]
    validate_body: Callable[[Any], list[str]] | None
    body_required: bool
    summary: str
    tags: tuple[str, ...]


OPERATIONS: tuple[Operation, ...] = (
{chr(10).join(entries)}
)


class PetstoreHandlers:
    """Generated stubs: one method per operation. The server subclasses this and overrides all."""

{chr(10).join(stubs)}

def unimplemented(handlers: PetstoreHandlers) -> list[str]:
    """Operations whose handler is still the generated stub."""
    return [
        op.operation_id
        for op in OPERATIONS
        if getattr(type(handlers), op.handler) is getattr(PetstoreHandlers, op.handler)
    ]


def build_router(handlers: PetstoreHandlers) -> Router:
    """A router whose matches carry ``(operation, bound handler)``."""
    router = Router()
    for op in OPERATIONS:
        router.add(op.method, op.path, (op, getattr(handlers, op.handler)), name=op.operation_id)
    return router
'''
    )


def generate(spec_path: Path, out_dir: Path, lib_dir: Path) -> list[dict[str, Any]]:
    text, doc = load_spec(spec_path)
    ops = collect_operations(doc)
    # Check the route table with the published router library (build-lib's output).
    if not (lib_dir / "router" / "__init__.py").is_file():
        raise SpecError(f"router library not found in {lib_dir}: run build-lib first")
    sys.path.insert(0, str(lib_dir))
    try:
        import router
    finally:
        sys.path.remove(str(lib_dir))
    table = router.Router()
    for op in ops:
        try:
            table.add(op["method"], op["path"], op["operation_id"])
        except router.RouterError as err:
            raise SpecError(f"{op['operation_id']}: {err}") from None

    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    header = (
        f"# Generated by gen-petstore from {spec_path.name} (sha256 {sha[:16]}). Do not edit.\n# ruff: noqa\n"
    )
    files = {
        "__init__.py": header
        + (
            '"""Generated pet-store API: spec, validators and route table."""\n\n'
            "from . import spec, validators\n"
            "from .routes import OPERATIONS, Operation, PetstoreHandlers, build_router, unimplemented\n\n"
            '__all__ = ["OPERATIONS", "Operation", "PetstoreHandlers", "build_router", "spec", '
            '"unimplemented", "validators"]\n'
        ),
        "spec.py": header
        + (
            f"SPEC_YAML = {text!r}\n\n"
            f"SPEC_JSON = {json.dumps(doc, sort_keys=True)!r}\n\n"
            f"SPEC_SHA256 = {sha!r}\n\n"
            f"VERSION = {str(doc.get('info', {}).get('version', '0'))!r}\n\n"
            f"TITLE = {str(doc.get('info', {}).get('title', 'API'))!r}\n"
        ),
        "validators.py": gen_validators(doc, ops, header),
        "routes.py": gen_routes(ops, header),
    }
    for name, source in files.items():
        compile(source, f"{PACKAGE}/{name}", "exec", dont_inherit=True)  # never emit broken code
    pkg = out_dir / PACKAGE
    if pkg.exists():
        shutil.rmtree(pkg)
    pkg.mkdir(parents=True)
    for name, source in files.items():
        (pkg / name).write_text(source, encoding="utf-8")
    return ops


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", type=Path, default=DEFAULT_SPEC)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--lib", type=Path, default=DEFAULT_LIB)
    args = ap.parse_args(argv)
    try:
        ops = generate(args.spec, args.out, args.lib)
    except (SpecError, OSError) as err:
        print(f"gen-petstore: error: {err}", file=sys.stderr)
        return 1
    for op in ops:
        print(f"  {op['method']:<6} {op['path']:<24} -> {op['handler']}")
    print(f"gen-petstore: {len(ops)} operations -> {args.out / PACKAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
