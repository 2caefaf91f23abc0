// The resource list's model: groups by first label (pinned ones first), the
// filter applied to the in-memory views (never to the DOM), the group counters,
// the header counts and the layout the virtual list (reslist.js) draws from;
// bulk selection.
"use strict";

const PINNED = "★ pinned";
const RES_ROW_H = 42;    // px: one resource row (name line + status line); reslist.js positions rows by it
const RES_HEAD_H = 24;   // px: a group's header

function groupOf(v) { return S.pins.has(v.name) ? PINNED : v.labels.length ? v.labels[0] : "unlabeled"; }

function groupOrder(a, b) {
  const rank = (k) => (k === PINNED ? 0 : k === "unlabeled" ? 2 : 1);
  return rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
}

function applyViews(views) {
  for (const v of views) {
    S.views.set(v.name, v);
    ResList.repaint(v.name);  // a drawn row shows its new state at once; the layout follows on the next frame
    if (v.name === S.selected) S.dirtyDetail = true;
  }
  S.dirtyGroups = true;
  scheduleDom();
}

function headlineOf(v) {
  const ex = v.excerpt || [];
  for (let i = ex.length - 1; i >= 0; i--) if (!/^(make(\[\d+\])?: \*\*\*|npm ERR! (code|errno))/.test(ex[i])) return ex[i];
  return ex.length ? ex[ex.length - 1] : "";
}

function subText(v) {
  if (v.hold_text) return v.hold_text;
  const parts = [v.update_status.replace("_", " ")];
  if (v.runtime_status !== "none") parts.push(`runtime ${v.runtime_status}`);
  if (v.probe && !v.probe.ok) parts.push(`probe ${v.probe_text}`);
  if (v.last_duration != null) parts.push(`${v.last_duration.toFixed(2)} s`);
  const head = headlineOf(v);
  if (head) parts.push(head);
  else if (v.last && v.last.error) parts.push(v.last.error);
  return parts.join(" · ");
}

function removeResource(name) {
  S.views.delete(name); S.picked.delete(name);
  if (S.selected === name) select(null);
  S.dirtyGroups = true; scheduleDom();
}

// Whether a resource passes the sidebar filter (its row exists in the list's model).
function rowVisible(name) { return S.pos.has(name); }

// Names passing the sidebar filter, in the server's order (the timeline and the graph show the same set).
function filteredNames() {
  return S.order.filter((n) => S.views.has(n) && Filter.passes(S.filter, S.views.get(n), S.pins.has(n)));
}

// The names j/k walk through: the list's order, collapsed groups skipped.
function navNames() { return S.layout.flatMap((g) => (g.collapsed ? [] : g.names)); }

function applyFilter() { S.dirtyGroups = true; scheduleDom(); }

const zeroCounts = () => ({ ok: 0, failed: 0, running: 0, pending: 0, held: 0, disabled: 0, n: 0 });

// One pass over the model (O(resources), a few ms at 10,000): the counts, the groups of the rows passing the
// filter in the server's (topological) order, and their layout. The DOM is the virtual list's business.
function summarise() {
  const total = zeroCounts();
  const byLabel = new Map();
  for (const name of S.order) {
    const v = S.views.get(name);
    if (!v) continue;
    const b = Filter.bucketOf(v);
    total[b]++; total.n++;
    const pinned = S.pins.has(name);
    if (!Filter.passes(S.filter, v, pinned)) continue;
    const label = pinned ? PINNED : v.labels.length ? v.labels[0] : "unlabeled";
    let g = byLabel.get(label);
    if (!g) { g = { label, names: [], c: zeroCounts() }; byLabel.set(label, g); }
    g.names.push(name); g.c[b]++; g.c.n++;
  }
  const layout = [...byLabel.keys()].sort(groupOrder).map((k) => byLabel.get(k));
  const pos = new Map();
  let top = 0, start = 0;
  for (let gi = 0; gi < layout.length; gi++) {
    const g = layout[gi];
    g.collapsed = S.collapsed.has(g.label);
    g.top = top; g.start = start;
    g.height = RES_HEAD_H + (g.collapsed ? 0 : g.names.length * RES_ROW_H);
    g.html = ["ok", "failed", "running", "pending", "held", "disabled"].filter((k) => g.c[k] || k === "ok" || k === "failed")
      .map((k) => `<span class="${k}">${g.c[k]} ${k === "failed" ? "err" : k}</span>`).join(" ") + ` / ${g.c.n}`;
    for (let i = 0; i < g.names.length; i++) pos.set(g.names[i], { g: gi, i });
    top += g.height; start += g.names.length;
  }
  S.layout = layout; S.pos = pos; S.listHeight = top; S.listCount = start;
  ResList.draw();
  if (S.revealPending !== null && pos.has(S.revealPending)) ResList.reveal(S.revealPending);
  const active = new Set(S.filter.statuses);
  const head = `<span class="total">${total.n} resources</span>` + Filter.BUCKETS.map((k) =>
    `<button class="count-btn ${k}${active.has(k) ? " active" : ""}" data-status="${k}" title="show only ${k} resources">` +
    `${total[k]} ${k}</button>`).join("");
  if (S.summaryHtml !== head) { S.summaryHtml = head; $("summary").innerHTML = head; }
  $("err-count").textContent = total.failed ? String(total.failed) : "";
  S.counts = total;
}

function toggleCollapsed(label) {
  if (S.collapsed.has(label)) S.collapsed.delete(label); else S.collapsed.add(label);
  S.dirtyGroups = true; scheduleDom();
}

function togglePin(name) {
  if (S.pins.has(name)) S.pins.delete(name); else S.pins.add(name);
  localStorage.setItem("lockstep.pins", JSON.stringify([...S.pins]));
  if (name === S.selected) S.dirtyDetail = true;
  S.dirtyGroups = true; S.dirtyTable = true; scheduleDom();
}

function setPicked(name, on) {
  if (on) S.picked.add(name); else S.picked.delete(name);
  renderBulk();
}

function renderBulk() {
  for (const n of [...S.picked]) if (!S.views.has(n)) S.picked.delete(n);
  $("bulk").hidden = !S.picked.size;
  $("bulk-count").textContent = `${S.picked.size} selected:`;
}

async function bulkEnable(names, enabled) {
  if (!names.length) return;
  const r = await Api.post("/api/enable", { resources: names, enabled }, `${enabled ? "enable" : "disable"} ${names.length} resources`);
  if (r) Api.toast(`${enabled ? "enabled" : "disabled"} ${r.changed.length} of ${names.length}`, "info");
}

// A group's "enable all"/"disable all": the rows of that group that pass the filter.
function groupBulk(label, enabled) {
  const g = S.layout.find((x) => x.label === label);
  bulkEnable(g ? [...g.names] : [], enabled);
}

$("summary").addEventListener("click", (e) => {
  const b = e.target.closest("button[data-status]");
  if (!b) return;
  const want = `status:${b.dataset.status}`;
  const rest = $("res-filter").value.split(/\s+/).filter((t) => t && !t.startsWith("status:"));
  const on = !S.filter.statuses.includes(b.dataset.status) || S.filter.statuses.length > 1;
  setResourceFilter([...rest, ...(on ? [want] : [])].join(" "), true);
});
$("bulk-enable").onclick = () => bulkEnable([...S.picked], true);
$("bulk-disable").onclick = () => bulkEnable([...S.picked], false);
$("bulk-trigger").onclick = () => Api.post("/api/trigger", { resources: [...S.picked].filter((n) => S.views.get(n)?.enabled) }, "trigger");
$("bulk-none").onclick = () => {
  S.picked.clear();
  ResList.draw();
  renderBulk();
};
