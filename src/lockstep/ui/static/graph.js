// Resource graph: a layered (Sugiyama) layout from the vendored dagre
// (ranks, dummy nodes for long edges, crossing reduction), drawn left to right
// with pan, zoom and fit. Declared edges solid, inferred (writer -> reader) dashed.
//
// Edges are routed so they never cross a node box: inside a rank they run
// horizontally at the height dagre gave their dummy node (a slot no node
// occupies), and they only bend in the gaps between ranks, where no node is.
"use strict";

const Graph = (() => {
  const SVGNS = "http://www.w3.org/2000/svg";
  const NODE_W = 170, NODE_H = 26;
  let view = { x: 0, y: 0, k: 1 }, size = { w: 1, h: 1 }, root = null, vp = null, host = null;
  let lastKey = "";

  function svg(tag, attrs) {
    const e = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    return e;
  }

  function layout(nodes, edges) {
    const g = new dagre.graphlib.Graph({ multigraph: false });
    g.setGraph({ rankdir: "LR", nodesep: 14, edgesep: 10, ranksep: 70, marginx: 20, marginy: 20 });
    g.setDefaultEdgeLabel(() => ({}));
    for (const n of nodes) g.setNode(n.name, { width: NODE_W, height: NODE_H });
    for (const e of edges) g.setEdge(e.from, e.to);
    dagre.layout(g);
    return g;
  }

  function route(g, e, bands) {
    const a = g.node(e.from), b = g.node(e.to);
    const pts = [[a.x + NODE_W / 2, a.y]];
    const inner = (g.edge(e.from, e.to).points || []).filter((p) => p.x > a.x + NODE_W / 2 + 1 && p.x < b.x - NODE_W / 2 - 1);
    for (const p of inner) {
      // A point inside a rank's band is a dummy node: cross the band level at its height, a slot no
      // node occupies. Points in the gaps between ranks (dagre's midpoints) are left to the curve.
      const band = bands.find((x) => Math.abs(x - p.x) <= NODE_W / 2);
      if (band !== undefined) pts.push([band - NODE_W / 2, p.y], [band + NODE_W / 2, p.y]);
    }
    pts.push([b.x - NODE_W / 2, b.y]);
    let d = `M${pts[0][0]},${pts[0][1]}`;
    for (let i = 1; i < pts.length; i++) {
      const [x0, y0] = pts[i - 1], [x1, y1] = pts[i];
      if (y0 === y1) { d += ` L${x1},${y1}`; continue; }
      const mx = (x0 + x1) / 2;   // horizontal tangents: the curve stays within [x0, x1], a gap between ranks
      d += ` C${mx},${y0} ${mx},${y1} ${x1},${y1}`;
    }
    return d;
  }

  function apply() { if (vp) vp.setAttribute("transform", `translate(${view.x},${view.y}) scale(${view.k})`); }

  function fit() {
    if (!host || !root) return;
    const w = host.clientWidth || 800, h = host.clientHeight || 600;
    const k = Math.min(1, w / size.w, h / size.h);
    view = { k, x: (w - size.w * k) / 2, y: Math.max(0, (h - size.h * k) / 2) };
    apply();
  }

  // The layout library is loaded with the first graph, not with the page.
  let loading = null;
  function ensureDagre() {
    if (window.dagre) return Promise.resolve();
    if (!loading) {
      loading = new Promise((resolve, reject) => {
        const s = document.createElement("script");
        s.src = "/static/vendor/dagre.min.js";
        s.onload = resolve; s.onerror = () => { loading = null; reject(new Error("cannot load the graph layout")); };
        document.head.appendChild(s);
      });
    }
    return loading;
  }

  async function render(el, graph, names, onSelect) {
    await ensureDagre();
    host = el;
    const nodes = graph.nodes.filter((n) => !names || names.has(n.name));
    const keep = new Set(nodes.map((n) => n.name));
    const edges = graph.edges.filter((e) => keep.has(e.from) && keep.has(e.to));
    const key = nodes.map((n) => n.name).join(",") + "|" + edges.map((e) => `${e.from}>${e.to}${e.inferred ? "~" : ""}`).join(",");
    if (key === lastKey && root) {
      // Same shape: only statuses changed; keep the user's pan and zoom.
      for (const n of nodes) { const gn = root.querySelector(`.gnode[data-resource="${CSS.escape(n.name)}"]`); if (gn) gn.setAttribute("class", `gnode s-${n.update_status}`); }
      return;
    }
    lastKey = key;
    el.textContent = "";
    if (!nodes.length) { el.textContent = "No resources match the filter."; root = null; return; }
    const g = layout(nodes, edges);
    const gg = g.graph();
    size = { w: gg.width || 1, h: gg.height || 1 };
    const bands = [...new Set(nodes.map((n) => g.node(n.name).x))];
    root = svg("svg", { width: "100%", height: "100%", "data-width": size.w, "data-height": size.h });
    const defs = svg("defs");
    const marker = svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 6, markerHeight: 6, orient: "auto" });
    marker.appendChild(svg("path", { d: "M0,0 L10,5 L0,10 z", fill: "#6b7280" }));
    defs.appendChild(marker);
    root.appendChild(defs);
    vp = svg("g", { class: "viewport" });
    root.appendChild(vp);
    for (const e of edges) {
      const p = svg("path", { d: route(g, e, bands), class: e.inferred ? "edge inferred" : "edge", "marker-end": "url(#arrow)",
        "data-from": e.from, "data-to": e.to });
      const t = svg("title");
      t.textContent = e.inferred ? `${e.from} → ${e.to} (inferred: ${e.from} was seen writing ${e.to}'s inputs)` : `${e.from} → ${e.to}`;
      p.appendChild(t);
      vp.appendChild(p);
    }
    for (const n of nodes) {
      const { x, y } = g.node(n.name);
      const gn = svg("g", { class: `gnode s-${n.update_status}`, transform: `translate(${x - NODE_W / 2},${y - NODE_H / 2})`,
        "data-resource": n.name, tabindex: "0", role: "button", "data-x": x - NODE_W / 2, "data-y": y - NODE_H / 2 });
      gn.appendChild(svg("rect", { width: NODE_W, height: NODE_H }));
      const t = svg("text", { x: 8, y: 17 });
      t.textContent = n.name.length > 25 ? n.name.slice(0, 24) + "…" : n.name;
      const title = svg("title"); title.textContent = `${n.name}: ${n.update_status}`;
      gn.append(t, title);
      gn.addEventListener("click", () => { if (!dragged) onSelect(n.name); });
      gn.addEventListener("keydown", (ev) => { if (ev.key === "Enter") onSelect(n.name); });
      vp.appendChild(gn);
    }
    el.appendChild(root);
    fit();
  }

  // Pan (drag) and zoom (wheel, around the pointer).
  let drag = null, dragged = false;
  const graphEl = document.getElementById("graph");
  graphEl.addEventListener("pointerdown", (e) => { drag = { x: e.clientX, y: e.clientY, vx: view.x, vy: view.y }; dragged = false; });
  window.addEventListener("pointermove", (e) => {
    if (!drag) return;
    const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) dragged = true;
    if (dragged) { view.x = drag.vx + dx; view.y = drag.vy + dy; apply(); }
  });
  window.addEventListener("pointerup", () => { drag = null; });
  graphEl.addEventListener("wheel", (e) => {
    e.preventDefault();
    const r = graphEl.getBoundingClientRect();
    const px = e.clientX - r.left, py = e.clientY - r.top;
    const k = Math.max(0.1, Math.min(4, view.k * Math.exp(-e.deltaY / 500)));
    view = { k, x: px - ((px - view.x) * k) / view.k, y: py - ((py - view.y) * k) / view.k };
    apply();
  }, { passive: false });

  return { render, fit, view: () => ({ ...view }) };
})();

window.Graph = Graph;
