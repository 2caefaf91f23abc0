"""`lockstep graph`: the resource graph as a build-order diagram, DOT, or Mermaid."""

from __future__ import annotations

import argparse
import sys

from lockstep.cli.catalog import HELP
from lockstep.cli.check_cmd import add_tiltfile_args, evaluate, render_diagnostic
from lockstep.engine.persist import load_inferred_evidence
from lockstep.model import graph
from lockstep.statedir import state_dir

RENDERERS = {"text": graph.render_text, "dot": graph.render_dot, "mermaid": graph.render_mermaid}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("graph", help=HELP["graph"])
    add_tiltfile_args(p)
    p.add_argument("--format", choices=sorted(RENDERERS), default="text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    result = evaluate(args, "graph")
    for d in result.errors:
        sys.stderr.write(render_diagnostic(d) + "\n")
    names = [r.name for r in result.resources]
    # Inferred edges were learnt by earlier runs and persisted in the state dir.
    known = set(names)
    declared = graph.edges_of(result.resources)
    ups = graph.upstreams(names, declared)
    # Learnt edges that declared ones now imply (or contradict) are not drawn; the engine drops them too.
    def ordered(u: str, d: str) -> bool:
        return u in graph.transitive_upstreams(d, ups) or d in graph.transitive_upstreams(u, ups)

    evidence = load_inferred_evidence(state_dir(result.tiltfile, create=False))
    inferred = [(u, d) for u, d in sorted(evidence) if {u, d} <= known and not ordered(u, d)]
    sys.stdout.write(RENDERERS[args.format](names, declared, inferred=inferred))
    if args.format == "text" and inferred:
        sys.stdout.write("learnt edges:\n")
        for up, down in inferred:
            sys.stdout.write(f"  {up} → {down}: " + (evidence[(up, down)] or "learnt in an earlier run") + "\n")
    return 0 if result.ok else 1
