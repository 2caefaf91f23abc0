"""DAGs of commands, written out as a Tiltfile, a Makefile and a dodo.py with the same shape.

Two sentinel nodes bracket the graph: `begin` before every root and `finish`
after every sink both run `date +%s.%N >> STAMP`, so each tool's makespan is
measured the same way, from inside, without its load or start-up time.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Dag:
    deps: dict[str, list[str]]  # node -> its upstreams, in topological order
    cmd: str  # what every node runs
    parallelism: int
    seconds: float  # nominal duration of one node's command

    def critical_path(self) -> int:
        depth: dict[str, int] = {}
        for node, ups in self.deps.items():
            depth[node] = 1 + max((depth[u] for u in ups), default=0)
        return max(depth.values())

    def lower_bound(self) -> float:
        """No schedule can beat the longest chain, nor the total work spread over every slot."""
        return max(self.critical_path() * self.seconds, len(self.deps) * self.seconds / self.parallelism)


def chain(n: int, cmd: str, seconds: float) -> Dag:
    return Dag({f"n{i}": [f"n{i - 1}"] if i else [] for i in range(n)}, cmd, 1, seconds)


def fan_out(n: int, cmd: str, seconds: float) -> Dag:
    deps: dict[str, list[str]] = {"root": []}
    deps.update({f"n{i}": ["root"] for i in range(n)})
    return Dag(deps, cmd, n, seconds)


def layered(n: int, layers: int, cmd: str, seconds: float, parallelism: int, seed: int = 7) -> Dag:
    """`layers` layers of n/layers nodes, each depending on (up to) two nodes of the layer before."""
    rnd = random.Random(seed)
    width = max(1, n // layers)
    deps: dict[str, list[str]] = {}
    for layer in range(layers):
        for i in range(width):
            ups = sorted({f"l{layer - 1}_{j}" for j in rnd.sample(range(width), min(2, width))}) if layer else []
            deps[f"l{layer}_{i}"] = ups
    return Dag(deps, cmd, parallelism, seconds)


def _bracketed(dag: Dag, stamp: Path) -> tuple[dict[str, list[str]], dict[str, str]]:
    has_down = {u for ups in dag.deps.values() for u in ups}
    deps: dict[str, list[str]] = {"begin": []}
    cmds = {"begin": f"date +%s.%N >> {stamp}"}
    for node, ups in dag.deps.items():
        deps[node] = ups or ["begin"]
        cmds[node] = dag.cmd
    deps["finish"] = [n for n in dag.deps if n not in has_down]
    cmds["finish"] = cmds["begin"]
    return deps, cmds


def tiltfile(dag: Dag, stamp: Path | None) -> str:
    deps, cmds = _bracketed(dag, stamp) if stamp else (dag.deps, dict.fromkeys(dag.deps, dag.cmd))
    lines = [f"update_settings(max_parallel_updates={dag.parallelism})"]
    lines += [f"local_resource({n!r}, cmd={cmds[n]!r}, resource_deps={ups!r}, allow_parallel=True)"
              for n, ups in deps.items()]
    return "\n".join(lines) + "\n"


def makefile(dag: Dag, stamp: Path | None) -> str:
    deps, cmds = _bracketed(dag, stamp) if stamp else (dag.deps, dict.fromkeys(dag.deps, dag.cmd))
    last = list(deps)[-1] if stamp else " ".join(deps)
    lines = [f"all: {last}", ".PHONY: all " + " ".join(deps)]
    for n, ups in deps.items():
        lines += [f"{n}: {' '.join(ups)}", f"\t@{cmds[n]}"]
    return "\n".join(lines) + "\n"


def dodo(dag: Dag, stamp: Path | None) -> str:
    deps, cmds = _bracketed(dag, stamp) if stamp else (dag.deps, dict.fromkeys(dag.deps, dag.cmd))
    # doit formats string actions with %: keep date's format literal.
    cmds = {n: c.replace("%", "%%") for n, c in cmds.items()}
    return (f"DEPS = {deps!r}\nCMDS = {cmds!r}\nDOIT_CONFIG = {{'verbosity': 0}}\n\n\n"
            "def task_n():\n"
            "    for name, ups in DEPS.items():\n"
            "        yield {'name': name, 'actions': [CMDS[name]], 'task_dep': ['n:' + u for u in ups],\n"
            "               'verbosity': 0}\n")
