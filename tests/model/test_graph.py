from lockstep.model import graph
from lockstep.model.resource import Resource, ResourceKind

NODES = ["gen-api", "build-ui", "db", "api", "web", "e2e"]
EDGES = [("gen-api", "api"), ("db", "api"), ("build-ui", "web"), ("api", "e2e"), ("web", "e2e")]


def test_topo_order_puts_upstreams_first_and_keeps_given_order():
    order = graph.topo_order(NODES, EDGES)
    assert order == ["gen-api", "build-ui", "db", "api", "web", "e2e"]
    for up, down in EDGES:
        assert order.index(up) < order.index(down)


def test_levels():
    assert graph.levels(NODES, EDGES) == {"gen-api": 0, "build-ui": 0, "db": 0, "api": 1, "web": 1, "e2e": 2}


def test_find_cycle():
    assert graph.find_cycle(NODES, EDGES) is None
    cycle = graph.find_cycle(["a", "b", "c"], [("a", "b"), ("b", "c"), ("c", "a")])
    assert cycle is not None and cycle[0] == cycle[-1] and set(cycle) == {"a", "b", "c"}
    assert graph.find_cycle(["a"], [("a", "a")]) == ["a", "a"]


def test_long_chain_has_no_recursion_limit():
    nodes = [f"n{i}" for i in range(5000)]
    edges = [(nodes[i], nodes[i + 1]) for i in range(4999)]
    assert graph.find_cycle(nodes, edges) is None
    assert graph.topo_order(list(reversed(nodes)), edges)[0] == "n0"


def test_would_close_cycle_and_transitive_upstreams():
    assert graph.would_close_cycle(NODES, EDGES, ("e2e", "gen-api"))
    assert not graph.would_close_cycle(NODES, EDGES, ("build-ui", "api"))
    ups = graph.upstreams(NODES, EDGES)
    assert graph.transitive_upstreams("e2e", ups) == {"api", "web", "gen-api", "db", "build-ui"}


def test_edges_of_resources():
    rs = [Resource("a", ResourceKind.LOCAL), Resource("b", ResourceKind.LOCAL, resource_deps=("a",))]
    assert graph.edges_of(rs) == [("a", "b")]


def test_text_shows_parallel_stages_joins_and_inferred_edges():
    text = graph.render_text(NODES, EDGES, inferred=[("build-ui", "api")])
    lines = text.splitlines()
    assert lines[0].startswith("stage 1") and "gen-api" in lines[0] and "build-ui" in lines[0]
    assert "api (joins gen-api + db + build-ui (inferred))" in text
    assert "e2e (joins api + web)" in lines[-1]
    assert graph.render_text([], []) == "(no resources)\n"


def test_dot_and_mermaid_draw_inferred_edges_dashed():
    dot = graph.render_dot(NODES, EDGES, inferred=[("build-ui", "api")])
    assert '"gen-api" -> "api";' in dot and '"build-ui" -> "api" [style=dashed' in dot
    mer = graph.render_mermaid(NODES, EDGES, inferred=[("build-ui", "api")])
    assert mer.startswith("flowchart LR") and "n0 --> n3" in mer and "n1 -. inferred .-> n3" in mer
