// Resource graph: layered left-to-right (layer = longest path from a root, from
// the server); declared edges solid, inferred (writer -> reader) edges dashed.
"use strict";

const SVGNS = "http://www.w3.org/2000/svg";
const NODE_W = 150, NODE_H = 24, COL_W = 200, ROW_H_G = 34;

function svg(tag, attrs) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

function renderGraph(el, graph, onSelect) {
  el.textContent = "";
  const pos = new Map();
  const perLayer = [];
  for (const n of graph.nodes) {
    const i = perLayer[n.layer] || 0;
    perLayer[n.layer] = i + 1;
    pos.set(n.name, { x: 20 + n.layer * COL_W, y: 20 + i * ROW_H_G });
  }
  const width = 40 + perLayer.length * COL_W;
  const height = 40 + Math.max(1, ...perLayer.map((c) => c || 0)) * ROW_H_G;
  const root = svg("svg", { width, height });
  const defs = svg("defs");
  const marker = svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 6, markerHeight: 6, orient: "auto" });
  marker.appendChild(svg("path", { d: "M0,0 L10,5 L0,10 z", fill: "#6b7280" }));
  defs.appendChild(marker);
  root.appendChild(defs);
  for (const e of graph.edges) {
    const a = pos.get(e.from), b = pos.get(e.to);
    if (!a || !b) continue;
    const x1 = a.x + NODE_W, y1 = a.y + NODE_H / 2, x2 = b.x, y2 = b.y + NODE_H / 2;
    const mx = (x1 + x2) / 2;
    const p = svg("path", {
      d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`,
      class: e.inferred ? "edge inferred" : "edge", "marker-end": "url(#arrow)",
      "data-from": e.from, "data-to": e.to,
    });
    const t = svg("title");
    t.textContent = e.inferred ? `${e.from} → ${e.to} (inferred: ${e.from} was seen writing ${e.to}'s inputs)` : `${e.from} → ${e.to}`;
    p.appendChild(t);
    root.appendChild(p);
  }
  for (const n of graph.nodes) {
    const { x, y } = pos.get(n.name);
    const g = svg("g", { class: `gnode s-${n.update_status}`, transform: `translate(${x},${y})`, "data-resource": n.name });
    g.appendChild(svg("rect", { width: NODE_W, height: NODE_H }));
    const t = svg("text", { x: 8, y: 16 });
    t.textContent = n.name.length > 22 ? n.name.slice(0, 21) + "…" : n.name;
    g.appendChild(t);
    g.addEventListener("click", () => onSelect(n.name));
    root.appendChild(g);
  }
  el.appendChild(root);
}

window.renderGraph = renderGraph;
