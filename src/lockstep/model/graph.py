"""Pure graph utilities over resource dependencies: start order, cycles, levels.

Edges are (upstream, downstream) pairs of resource names. Functions are
deterministic: ties are broken by the order nodes were given in, so the text
drawing, `check` output and the scheduler agree from run to run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from lockstep.model.resource import Resource

Edge = tuple[str, str]


def edges_of(resources: Iterable[Resource]) -> list[Edge]:
    """Declared edges (upstream, downstream) from each resource's `resource_deps`."""
    out: list[Edge] = []
    for r in resources:
        out.extend((dep, r.name) for dep in r.resource_deps)
    return out


def upstreams(nodes: Sequence[str], edges: Iterable[Edge]) -> dict[str, list[str]]:
    known = set(nodes)
    ups: dict[str, list[str]] = {n: [] for n in nodes}
    for up, down in edges:
        if up in known and down in known and up not in ups[down]:
            ups[down].append(up)
    return ups


def find_cycle(nodes: Sequence[str], edges: Iterable[Edge]) -> list[str] | None:
    """One cycle as [a, b, ..., a] (each depends on the one before), or None."""
    downs: dict[str, list[str]] = {n: [] for n in nodes}
    for up, down in edges:
        if up in downs and down in downs:
            downs[up].append(down)
    white, grey, black = 0, 1, 2
    color = dict.fromkeys(nodes, white)
    for start in nodes:
        if color[start] != white:
            continue
        # Iterative DFS: deep chains in generated Tiltfiles must not hit Python's recursion limit.
        stack: list[tuple[str, int]] = [(start, 0)]
        path: list[str] = [start]
        color[start] = grey
        while stack:
            node, i = stack[-1]
            if i < len(downs[node]):
                stack[-1] = (node, i + 1)
                nxt = downs[node][i]
                if color[nxt] == grey:
                    return [*path[path.index(nxt):], nxt]
                if color[nxt] == white:
                    color[nxt] = grey
                    stack.append((nxt, 0))
                    path.append(nxt)
            else:
                color[node] = black
                stack.pop()
                path.pop()
    return None


def levels(nodes: Sequence[str], edges: Iterable[Edge]) -> dict[str, int]:
    """Longest-path depth of each node (0 = no upstreams). Nodes on a cycle are placed after
    their acyclic upstreams, so a drawing is still possible for a broken graph.

    Kahn's algorithm, O(nodes + edges): the engine recomputes this on every reload and
    every inferred edge, at 1,000 resources too."""
    ups = upstreams(nodes, edges)
    downs: dict[str, list[str]] = {n: [] for n in nodes}
    for n, us in ups.items():
        for u in us:
            downs[u].append(n)
    missing = {n: len(ups[n]) for n in nodes}
    level: dict[str, int] = {}
    ready = [n for n in nodes if missing[n] == 0]
    pending = list(reversed(nodes))  # pop() yields the given order, for cycle breaking
    while len(level) < len(nodes):
        if not ready:
            # A cycle: place its first unplaced node using only what is known, then continue.
            while pending[-1] in level:
                pending.pop()
            ready.append(pending[-1])
        n = ready.pop()
        if n in level:
            continue
        level[n] = 1 + max((level[u] for u in ups[n] if u in level), default=-1)
        for d in downs[n]:
            missing[d] -= 1
            if missing[d] == 0 and d not in level:
                ready.append(d)
    return level


def topo_order(nodes: Sequence[str], edges: Iterable[Edge]) -> list[str]:
    """Start order: every node after its upstreams; within a level, the given order."""
    lv = levels(nodes, edges)
    index = {n: i for i, n in enumerate(nodes)}
    return sorted(nodes, key=lambda n: (lv[n], index[n]))


def transitive_upstreams(name: str, ups: Mapping[str, Sequence[str]]) -> set[str]:
    seen: set[str] = set()
    todo = list(ups.get(name, ()))
    while todo:
        n = todo.pop()
        if n not in seen:
            seen.add(n)
            todo.extend(ups.get(n, ()))
    return seen


def would_close_cycle(nodes: Sequence[str], edges: Iterable[Edge], edge: Edge) -> bool:
    """True if adding `edge` creates a cycle (the engine uses this before inferring an edge)."""
    up, down = edge
    if up == down:
        return True
    ups = upstreams(nodes, edges)
    return down in transitive_upstreams(up, ups) or down == up


# --- Drawing ---------------------------------------------------------------------------------
# Renderers take declared edges plus an optional set of *inferred* edges (learned by the
# engine from writers it saw, contract rule C4) and draw the inferred ones distinctly.


def _all_edges(edges: Iterable[Edge], inferred: Iterable[Edge]) -> tuple[list[Edge], set[Edge]]:
    declared = list(dict.fromkeys(edges))
    extra = {e for e in inferred if e not in set(declared)}
    return declared + sorted(extra), extra


def render_text(nodes: Sequence[str], edges: Iterable[Edge], inferred: Iterable[Edge] = ()) -> str:
    """Stages of the build order: each line holds resources that start side by side; a
    resource with upstreams says which it follows, and where branches join."""
    if not nodes:
        return "(no resources)\n"
    every, extra = _all_edges(edges, inferred)
    ups = upstreams(nodes, every)
    lv = levels(nodes, every)
    order = topo_order(nodes, every)
    lines = []
    width = len(str(max(lv.values()) + 1))
    for stage in range(max(lv.values()) + 1):
        cells = []
        for n in (n for n in order if lv[n] == stage):
            if not ups[n]:
                cells.append(n)
                continue
            names = [u + (" (inferred)" if (u, n) in extra else "") for u in ups[n]]
            verb = "joins" if len(names) > 1 else "after"
            cells.append(f"{n} ({verb} {' + '.join(names)})")
        label = f"stage {stage + 1:>{width}}"
        lines.append(f"{label} │ " + "   ║   ".join(cells))
        if stage < max(lv.values()):
            lines.append(" " * len(label) + " ▼")
    return "\n".join(lines) + "\n"


def _quote_dot(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_dot(nodes: Sequence[str], edges: Iterable[Edge], inferred: Iterable[Edge] = ()) -> str:
    every, extra = _all_edges(edges, inferred)
    out = ["digraph lockstep {", "  rankdir=LR;", "  node [shape=box];"]
    out += [f"  {_quote_dot(n)};" for n in nodes]
    for up, down in every:
        style = ' [style=dashed, label="inferred"]' if (up, down) in extra else ""
        out.append(f"  {_quote_dot(up)} -> {_quote_dot(down)}{style};")
    out.append("}")
    return "\n".join(out) + "\n"


def _mermaid_id(index: int) -> str:
    return f"n{index}"


def render_mermaid(nodes: Sequence[str], edges: Iterable[Edge], inferred: Iterable[Edge] = ()) -> str:
    every, extra = _all_edges(edges, inferred)
    ids = {n: _mermaid_id(i) for i, n in enumerate(nodes)}
    out = ["flowchart LR"]
    for n in nodes:
        label = n.replace('"', "#quot;")
        out.append(f'  {ids[n]}["{label}"]')
    for up, down in every:
        if up in ids and down in ids:
            arrow = "-. inferred .->" if (up, down) in extra else "-->"
            out.append(f"  {ids[up]} {arrow} {ids[down]}")
    return "\n".join(out) + "\n"
