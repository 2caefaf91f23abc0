"""`lockstep graph`: the resource graph as a build-order diagram, DOT, or Mermaid."""

from __future__ import annotations

import argparse
import sys

from lockstep.cli.check_cmd import add_tiltfile_args, evaluate, render_diagnostic
from lockstep.model import graph

RENDERERS = {"text": graph.render_text, "dot": graph.render_dot, "mermaid": graph.render_mermaid}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("graph", help="draw the resource graph (text, dot, mermaid)")
    add_tiltfile_args(p)
    p.add_argument("--format", choices=sorted(RENDERERS), default="text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    result = evaluate(args, "graph")
    for d in result.errors:
        sys.stderr.write(render_diagnostic(d) + "\n")
    names = [r.name for r in result.resources]
    # Inferred edges live in the engine's state; a plain `graph` shows declared ones.
    sys.stdout.write(RENDERERS[args.format](names, graph.edges_of(result.resources)))
    return 0 if result.ok else 1
