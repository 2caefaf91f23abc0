"""The graph view's layered layout in Chromium: no edge crosses a node box (pet-store graph, and a generated
200-node graph with long edges), everything fits at 1500 px, pan/zoom/fit work, a click opens the resource."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from dashrig import chromium, need_chromium, shot
from upproc import Up

from lockstep.tiltfile import load

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]

# For every edge: points sampled along its path that fall inside a node box other than its own two ends.
CROSSINGS = """() => {
  const boxes = [...document.querySelectorAll('#graph .gnode')].map((g) => {
    const r = g.querySelector('rect');
    return { name: g.dataset.resource, x: +g.dataset.x, y: +g.dataset.y,
             w: +r.getAttribute('width'), h: +r.getAttribute('height') };
  });
  const bad = [];
  for (const p of document.querySelectorAll('#graph path.edge')) {
    const len = p.getTotalLength();
    for (let s = 0; s <= len; s += 2) {
      const pt = p.getPointAtLength(s);
      for (const b of boxes) {
        if (b.name === p.dataset.from || b.name === p.dataset.to) continue;
        if (pt.x > b.x + 0.5 && pt.x < b.x + b.w - 0.5 && pt.y > b.y + 0.5 && pt.y < b.y + b.h - 0.5) {
          bad.push(`${p.dataset.from} -> ${p.dataset.to} crosses ${b.name}`);
          break;
        }
      }
    }
  }
  return [...new Set(bad)];
}"""


def tiltfile_for(nodes: list[tuple[str, list[str], str]]) -> str:
    return "".join(
        f"local_resource({name!r}, cmd='true', resource_deps={deps!r}, labels=[{label!r}], allow_parallel=True)\n"
        for name, deps, label in nodes
    )


def petstore_graph() -> list[tuple[str, list[str], str]]:
    """The real pet-store Tiltfile's resources and resource_deps (its commands replaced by `true`)."""
    result = load(str(ROOT / "examples" / "petstore" / "Tiltfile"), [])
    assert result.ok, result.errors
    return [(r.name, list(r.resource_deps), r.labels[0] if r.labels else "x") for r in result.resources]


def generated_graph(n: int = 200, seed: int = 7) -> list[tuple[str, list[str], str]]:
    rng = random.Random(seed)
    nodes: list[tuple[str, list[str], str]] = []
    for i in range(n):
        k = 0 if i < 12 else rng.choice((0, 1, 1, 2, 2, 3))
        # Mostly near neighbours, some far back: long edges need dummy nodes across many layers.
        deps = sorted({f"n{rng.randrange(max(0, i - 15), i) if rng.random() < 0.8 else rng.randrange(i):03d}"
                       for _ in range(k)})
        nodes.append((f"n{i:03d}", deps, f"l{i % 10}"))
    return nodes


def open_graph(up: Up, browser: Any, count: int) -> Any:
    page = browser.page(up.url, width=1500, height=900)
    expect(page.locator("#summary .total")).to_have_text(f"{count} resources")
    page.keyboard.press("5")
    expect(page.locator("#graph .gnode")).to_have_count(count)
    return page


def test_petstore_graph_has_no_edge_through_a_node_and_fits(tmp_path: Path) -> None:
    need_chromium()
    nodes = petstore_graph()
    with Up.write(tmp_path, tiltfile_for(nodes)) as up, chromium() as browser:
        page = open_graph(up, browser, len(nodes))
        long_edge = page.locator('#graph path.edge[data-from="build-sample-ui"][data-to="wait-for-builds"]')
        expect(long_edge).to_have_count(1)
        assert page.evaluate(CROSSINGS) == []
        frame = page.locator("#graph").bounding_box()
        for name, _, _ in nodes:  # nothing cut off on the right (or anywhere)
            box = page.locator(f'#graph .gnode[data-resource="{name}"]').bounding_box()
            assert frame["x"] <= box["x"] and box["x"] + box["width"] <= frame["x"] + frame["width"] + 0.5, name
            assert frame["y"] <= box["y"] and box["y"] + box["height"] <= frame["y"] + frame["height"] + 0.5, name
        # Layered: every edge goes left to right.
        for name, deps, _ in nodes:
            x = page.locator(f'#graph .gnode[data-resource="{name}"]').bounding_box()["x"]
            for d in deps:
                assert page.locator(f'#graph .gnode[data-resource="{d}"]').bounding_box()["x"] < x
        shot(page, "dashboard-graph-petstore.png")
        # Zoom with the wheel, pan by dragging, fit again.
        before = page.evaluate("Graph.view()")
        page.mouse.move(frame["x"] + 300, frame["y"] + 300)
        page.mouse.wheel(0, -400)
        zoomed = page.evaluate("Graph.view()")
        assert zoomed["k"] > before["k"]
        page.mouse.down()
        page.mouse.move(frame["x"] + 420, frame["y"] + 350, steps=5)
        page.mouse.up()
        panned = page.evaluate("Graph.view()")
        assert (panned["x"], panned["y"]) != (zoomed["x"], zoomed["y"])
        page.locator("#graph-fit").click()
        assert page.evaluate("Graph.view()") == before
        # A click on a node opens the resource.
        page.locator('#graph .gnode[data-resource="petstore"]').click()
        expect(page.locator("#pane-resources")).to_be_visible()
        expect(page.locator('#groups .row.selected[data-resource="petstore"]')).to_be_visible()
        assert browser.problems == []


def test_generated_200_node_graph_has_no_edge_through_a_node(tmp_path: Path) -> None:
    need_chromium()
    nodes = generated_graph()
    assert sum(len(d) for _, d, _ in nodes) > 250
    with Up.write(tmp_path, tiltfile_for(nodes)) as up, chromium() as browser:
        page = open_graph(up, browser, len(nodes))
        expect(page.locator("#graph path.edge")).to_have_count(sum(len(d) for _, d, _ in nodes))
        assert page.evaluate(CROSSINGS) == []
        shot(page, "dashboard-graph-200.png")
        assert browser.problems == []
