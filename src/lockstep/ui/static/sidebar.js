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
    S.changed.add(v.name);
    ResList.repaint(v.name);  // a drawn row shows its new state at once; the counts follow on the next frame
    if (v.name === S.selected) S.dirtyDetail = true;
  }
  S.dirtyGroups = true;
  scheduleDom();
}

// The list must be laid out again (not only recounted): the order, the filter, pins or collapsed groups changed.
function relayout() { S.dirtyLayout = true; S.dirtyGroups = true; scheduleDom(); }

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
  relayout();
}


// Names passing the sidebar filter, in the server's order (the timeline and the graph show the same set).
function filteredNames() {
  return S.order.filter((n) => S.views.has(n) && Filter.passes(S.filter, S.views.get(n), S.pins.has(n)));
}

// The names j/k walk through: the list's order, collapsed groups skipped.
function navNames() { return S.layout.flatMap((g) => (g.collapsed ? [] : g.names)); }

function applyFilter() { relayout(); }

const zeroCounts = () => ({ ok: 0, failed: 0, running: 0, pending: 0, held: 0, disabled: 0, n: 0 });

// A row's place in the list: its group's index in S.layout and its index in the group (null: not listed).
function posOf(name) {
  const at = S.pos.get(name);
  if (at === undefined) return null;
  let lo = 0, hi = S.layout.length - 1;
  while (lo < hi) {  // the last group starting at or before the row's flat index
    const mid = (lo + hi + 1) >> 1;
    if (S.layout[mid].start <= at) lo = mid; else hi = mid - 1;
  }
  return { g: lo, i: at - S.layout[lo].start };
}

const groupHtml = (c) => ["ok", "failed", "running", "pending", "held", "disabled"].filter((k) => c[k] || k === "ok" || k === "failed")
  .map((k) => `<span class="${k}">${c[k]} ${k === "failed" ? "err" : k}</span>`).join(" ") + ` / ${c.n}`;

// After a frame's deltas: the counts and group counters follow each changed resource, when none of them moved
// (same group, same answer from the filter): O(changed), not O(resources). Returns false when the list must be
// laid out again; summarise() then recomputes everything from scratch (and fixes any count changed here).
function recount() {
  const total = S.counts;
  if (!total) return false;
  const touched = new Set();
  for (const name of S.changed) {
    const v = S.views.get(name), old = S.meta.get(name);
    if (!v || !old) return false;
    const b = Filter.bucketOf(v);
    if (groupOf(v) !== old.label || Filter.passes(S.filter, v, S.pins.has(name)) !== old.ok) return false;
    if (b === old.b) continue;
    total[old.b]--; total[b]++;
    if (old.ok) { const g = S.groupBy.get(old.label); g.c[old.b]--; g.c[b]++; touched.add(g); }
    old.b = b;
  }
  for (const g of touched) g.html = groupHtml(g.c);
  ResList.draw();
  renderCounts(total);
  return true;
}

// The counts, the groups of the rows passing the filter in the server's (topological) order and their layout:
// one pass over the model (O(resources), a few ms at 10,000) when the list must be laid out again, else a
// recount of the changed resources (returns false then). The DOM is the virtual list's business.
function summarise() {
  const changed = S.changed.size > 0;
  if (!S.dirtyLayout && changed && recount()) { S.changed.clear(); return false; }
  S.dirtyLayout = false; S.changed.clear();
  const total = zeroCounts();
  const byLabel = new Map(), meta = new Map();
  for (const name of S.order) {
    const v = S.views.get(name);
    if (!v) continue;
    const b = Filter.bucketOf(v);
    total[b]++; total.n++;
    const pinned = S.pins.has(name);
    const label = pinned ? PINNED : v.labels.length ? v.labels[0] : "unlabeled";
    const ok = Filter.passes(S.filter, v, pinned);
    meta.set(name, { b, label, ok });
    if (!ok) continue;
    let g = byLabel.get(label);
    if (!g) { g = { label, names: [], c: zeroCounts() }; byLabel.set(label, g); }
    g.names.push(name); g.c[b]++; g.c.n++;
  }
  const layout = [...byLabel.keys()].sort(groupOrder).map((k) => byLabel.get(k));
  const pos = new Map();
  let top = 0, start = 0;
  for (const g of layout) {
    g.collapsed = S.collapsed.has(g.label);
    g.top = top; g.start = start;
    g.height = RES_HEAD_H + (g.collapsed ? 0 : g.names.length * RES_ROW_H);
    g.html = groupHtml(g.c);
    for (let i = 0; i < g.names.length; i++) pos.set(g.names[i], start + i);
    top += g.height; start += g.names.length;
  }
  Object.assign(S, { layout, pos, meta, groupBy: byLabel, listHeight: top, listCount: start });
  ResList.draw();
  if (S.revealPending !== null && pos.has(S.revealPending)) ResList.reveal(S.revealPending);
  renderCounts(total);
  return true;
}

function renderCounts(total) {
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
  relayout();
}

function togglePin(name) {
  if (S.pins.has(name)) S.pins.delete(name); else S.pins.add(name);
  localStorage.setItem("lockstep.pins", JSON.stringify([...S.pins]));
  if (name === S.selected) S.dirtyDetail = true;
  S.dirtyTable = true; relayout();
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
