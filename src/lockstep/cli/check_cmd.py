"""`lockstep check`: evaluate and validate a Tiltfile without running anything."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from lockstep.cli.catalog import HELP
from lockstep.tiltfile.isolate import Evaluator

if TYPE_CHECKING:
    from lockstep.model.resource import Diagnostic, LoadResult, Resource

# The model, the graph and the tool checks load while the evaluation child works (see
# evaluate): the child is what a `check` waits for, and it starts first.


def add_tiltfile_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("-f", "--file", default="Tiltfile", help="path to the Tiltfile (default: ./Tiltfile)")
    p.add_argument("--dry-run", action="store_true",
                   help="do not run local(); read missing files as empty; bind unavailable loads to "
                        "inert placeholders")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("check", help=HELP["check"],
                       description="Evaluate the Tiltfile and print its resources, their upstreams "
                                   "and the start order. Exit 1 on any error. Arguments after -- "
                                   "go to the Tiltfile (config.parse).")
    add_tiltfile_args(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def shown(path: str) -> str:
    """A path as the user would type it: relative to the working directory when inside it."""
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def render_diagnostic(d: Diagnostic) -> str:
    where = f"{shown(d.location.file)}:{d.location.line}:{d.location.col}: " if d.location else ""
    text = f"{where}{d.severity.value}: {d.message}"
    return text + (f"\n  fix: {d.hint}" if d.hint else "")


def grouped(diagnostics: tuple[Diagnostic, ...]) -> list[str]:
    """One line per distinct message: repeats are counted ("... (x13)" with a multiplication sign) at the first place
    they occur, so a warning raised by every resource does not bury the others."""
    counts: dict[tuple[str, str], int] = {}
    first: dict[tuple[str, str], Diagnostic] = {}
    for d in diagnostics:
        key = (d.message, d.hint)
        counts[key] = counts.get(key, 0) + 1
        first.setdefault(key, d)
    out = []
    for key, d in first.items():
        n = counts[key]
        out.append(render_diagnostic(replace(d, message=f"{d.message} (\u00d7{n})") if n > 1 else d))
    return out


def evaluate(args: argparse.Namespace, subcommand: str, meanwhile: Callable[[], object] | None = None) -> LoadResult:
    """The Tiltfile's evaluation, in a child bounded in memory and time as `up` evaluates (see
    tiltfile/isolate.py); `meanwhile` runs while the child evaluates."""
    evaluator = Evaluator()
    tilt_args = getattr(args, "tiltfile_args", []) or []
    evaluator.ask_ahead(args.file, tilt_args, subcommand=subcommand, dry_run=args.dry_run)
    if meanwhile is not None:
        meanwhile()
    return evaluator.load(args.file, tilt_args, dry_run=args.dry_run, subcommand=subcommand)


def _report_modules() -> None:
    """What the report needs, imported while the child evaluates."""
    import lockstep.k8s.tools
    import lockstep.model.graph  # noqa: F401


def start_order(result: LoadResult) -> list[str]:
    from lockstep.model import graph

    names = [r.name for r in result.resources]
    return graph.topo_order(names, graph.edges_of(result.resources))


def _resource_json(r: Resource) -> dict[str, Any]:
    return {
        "name": r.name, "kind": r.kind.value, "resource_deps": list(r.resource_deps),
        "deps": list(r.deps), "labels": list(r.labels), "trigger_mode": r.trigger_mode.value,
        "auto_init": r.auto_init, "images": [i.ref for i in r.images],
        "location": str(r.location) if r.location else None,
    }


def _diag_json(d: Diagnostic) -> dict[str, Any]:
    loc = d.location
    return {"severity": d.severity.value, "message": d.message, "hint": d.hint,
            "file": loc.file if loc else None, "line": loc.line if loc else None,
            "col": loc.col if loc else None}


def as_json(result: LoadResult) -> dict[str, Any]:
    return {
        "tiltfile": result.tiltfile, "ok": result.ok,
        "resources": [_resource_json(r) for r in result.resources],
        "start_order": start_order(result),
        "warnings": [_diag_json(d) for d in result.warnings],
        "errors": [_diag_json(d) for d in result.errors],
        "local_commands": list(result.local_commands),
        "config_files": list(result.config_files),
    }


def as_text(result: LoadResult) -> str:
    lines = [f"Tiltfile: {shown(result.tiltfile)}"]
    if result.resources:
        width = max(len(r.name) for r in result.resources)
        lines.append(f"Resources ({len(result.resources)}):")
        for r in result.resources:
            ups = ", ".join(r.resource_deps) if r.resource_deps else "-"
            lines.append(f"  {r.name:<{width}}  {r.kind.value:<7}  upstreams: {ups}")
        lines.append("Start order: " + " → ".join(start_order(result)))
    else:
        lines.append("Resources: none")
    lines += grouped(result.warnings)
    lines += grouped(result.errors)
    n_err, n_warn = len(result.errors), len(result.warnings)
    lines.append("OK" if result.ok else f"{n_err} error(s)" + (f", {n_warn} warning(s)" if n_warn else ""))
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    from lockstep.k8s.tools import diagnostics as tool_diagnostics

    result = evaluate(args, "check", meanwhile=_report_modules)
    # Tools the Tiltfile's Kubernetes resources and commands need, named when absent.
    result = replace(result, errors=result.errors + tool_diagnostics(result, shutil.which))
    if args.json:
        sys.stdout.write(json.dumps(as_json(result), indent=2) + "\n")
    else:
        sys.stdout.write(as_text(result))
    return 0 if result.ok else 1
