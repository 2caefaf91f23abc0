// The resource list: groups by first label (pinned ones first), keyed rows
// touched only when their view changed, a filter that also drives the group
// counters, the header counts, the timeline and the graph; bulk selection.
"use strict";

const PINNED = "★ pinned";

function groupOf(v) { return S.pins.has(v.name) ? PINNED : v.labels.length ? v.labels[0] : "unlabeled"; }

function groupOrder(a, b) {
  const rank = (k) => (k === PINNED ? 0 : k === "unlabeled" ? 2 : 1);
  return rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
}

function ensureGroup(label) {
  let g = S.groups.get(label);
  if (g) return g;
  const el = document.createElement("div");
  el.className = "group";
  el.dataset.group = label;
  el.innerHTML = '<div class="ghead"><span class="gname"></span><span class="gsum"></span>' +
    '<button class="gbulk" data-on="true" title="enable every resource of this group">enable all</button>' +
    '<button class="gbulk" data-on="false" title="disable every resource of this group">disable all</button></div><div class="rows"></div>';
  el.querySelector(".gname").textContent = label;
  el.querySelector(".ghead").addEventListener("click", (e) => { if (!e.target.closest("button")) el.classList.toggle("collapsed"); });
  for (const b of el.querySelectorAll(".gbulk")) {
    b.addEventListener("click", () => {
      const names = [...S.views.values()].filter((v) => groupOf(v) === label && rowVisible(v.name)).map((v) => v.name);
      bulkEnable(names, b.dataset.on === "true");
    });
  }
  g = { el, rowsEl: el.querySelector(".rows"), sumEl: el.querySelector(".gsum") };
  S.groups.set(label, g);
  const after = [...S.groups.keys()].filter((k) => k !== label && groupOrder(k, label) > 0).sort(groupOrder)[0];
  $("groups").insertBefore(el, after ? S.groups.get(after).el : null);
  return g;
}

const ROW_TEMPLATE = (() => {
  const row = document.createElement("div");
  row.className = "row";
  row.tabIndex = 0;
  row.setAttribute("role", "option");
  // autocomplete=off: every history entry (each selection, each filter keystroke) otherwise saves the state
  // of every form control on the page, 50 ms with 10,000 checkboxes; the picks live in S.picked anyway.
  row.innerHTML = '<input type="checkbox" class="pick" autocomplete="off" aria-label="select for bulk actions"><span class="dot"></span>' +
    '<span class="name"></span><span class="pend"></span><button class="pin" title="pin to the top">☆</button>' +
    '<button class="trig" title="trigger update (r)">▶</button><div class="sub"></div>';
  return row;
})();

function buildRow(name) {
  // Cloned, not parsed: 1,000 rows on a page load.
  const row = ROW_TEMPLATE.cloneNode(true);
  row.dataset.resource = name;
  const [, , nameEl, pend, pin, , sub] = row.children;
  row._pend = pend; row._pin = pin; row._sub = sub;
  nameEl.textContent = name;
  row.addEventListener("click", (e) => { if (!e.target.closest("button, input")) select(name); });
  row.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); select(name); } });
  row.querySelector(".trig").addEventListener("click", () => trigger(name));
  row.querySelector(".pin").addEventListener("click", () => togglePin(name));
  row.querySelector(".pick").addEventListener("change", (e) => {
    if (e.target.checked) S.picked.add(name); else S.picked.delete(name);
    renderBulk();
  });
  return row;
}

function placeRow(v, row) {
  const label = groupOf(v);
  const g = ensureGroup(label);
  if (row.parentNode !== g.rowsEl) {
    // Keep the server's (topological) order inside a group; appending is the common case (a snapshot).
    const idx = S.index.get(v.name) ?? Infinity;
    const lastRow = g.rowsEl.lastElementChild;
    if (!lastRow || (S.index.get(lastRow.dataset.resource) ?? Infinity) <= idx) { g.rowsEl.appendChild(row); return; }
    const next = [...g.rowsEl.children].find((r) => (S.index.get(r.dataset.resource) ?? Infinity) > idx);
    g.rowsEl.insertBefore(row, next || null);
  }
}

function applyViews(views) {
  for (const v of views) {
    S.views.set(v.name, v);
    let row = S.rows.get(v.name);
    if (!row) { row = buildRow(v.name); S.rows.set(v.name, row); }
    placeRow(v, row);
    const bucket = Filter.bucketOf(v);
    row.className = `row s-${v.update_status} b-${bucket}` + (S.selected === v.name ? " selected" : "");
    row.setAttribute("aria-selected", S.selected === v.name ? "true" : "false");
    row.dataset.status = v.update_status;
    row.dataset.bucket = bucket;
    row.dataset.runtime = v.runtime_status;
    row._pend.textContent = v.pending.length ? "● pending" : "";
    row._pend.title = v.pending.join("\n");
    row._pin.textContent = S.pins.has(v.name) ? "★" : "☆";
    const sub = row._sub;
    sub.className = "sub" + (v.hold_text ? " hold" : "") + (v.excerpt && v.excerpt.length ? " fail" : "");
    sub.textContent = subText(v);
    sub.title = v.excerpt && v.excerpt.length ? v.excerpt.join("\n") : "";
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
  const row = S.rows.get(name);
  if (row) row.remove();
  S.rows.delete(name); S.views.delete(name); S.picked.delete(name);
  if (S.selected === name) select(null);
  S.dirtyGroups = true; scheduleDom();
}

function rowVisible(name) { const r = S.rows.get(name); return Boolean(r) && r.style.display !== "none"; }

// Names passing the sidebar filter (the timeline and the graph show the same set).
function filteredNames() {
  return S.order.filter((n) => S.views.has(n) && Filter.passes(S.filter, S.views.get(n), S.pins.has(n)));
}

// Rows are shown or hidden by summarise(), on the next frame, with the counters.
function applyFilter() { S.dirtyGroups = true; scheduleDom(); }

function summarise() {
  const zero = () => ({ ok: 0, failed: 0, running: 0, pending: 0, held: 0, disabled: 0, n: 0 });
  const counts = new Map();
  const present = new Set();
  const total = zero();
  for (const v of S.views.values()) {
    const b = Filter.bucketOf(v);
    total[b]++; total.n++;
    const label = groupOf(v);
    present.add(label);
    const row = S.rows.get(v.name);
    const ok = Filter.passes(S.filter, v, S.pins.has(v.name));
    const display = ok ? "" : "none";
    if (row && row.style.display !== display) row.style.display = display;
    if (!ok) continue;
    if (!counts.has(label)) counts.set(label, zero());
    const c = counts.get(label);
    c[b]++; c.n++;
  }
  for (const [label, g] of S.groups) {
    const c = counts.get(label);
    if (!present.has(label)) { g.el.remove(); S.groups.delete(label); continue; }
    if (g.el.hidden !== !c) g.el.hidden = !c;
    if (!c) continue;
    const html = ["ok", "failed", "running", "pending", "held", "disabled"].filter((k) => c[k] || k === "ok" || k === "failed")
      .map((k) => `<span class="${k}">${c[k]} ${k === "failed" ? "err" : k}</span>`).join(" ") + ` / ${c.n}`;
    if (g.html !== html) { g.html = html; g.sumEl.innerHTML = html; }
  }
  const active = new Set(S.filter.statuses);
  const head = `<span class="total">${total.n} resources</span>` + Filter.BUCKETS.map((k) =>
    `<button class="count-btn ${k}${active.has(k) ? " active" : ""}" data-status="${k}" title="show only ${k} resources">` +
    `${total[k]} ${k}</button>`).join("");
  if (S.summaryHtml !== head) { S.summaryHtml = head; $("summary").innerHTML = head; }
  $("err-count").textContent = total.failed ? String(total.failed) : "";
  S.counts = total;
}

function togglePin(name) {
  if (S.pins.has(name)) S.pins.delete(name); else S.pins.add(name);
  localStorage.setItem("lockstep.pins", JSON.stringify([...S.pins]));
  const v = S.views.get(name);
  if (v) applyViews([v]);
  S.dirtyTable = true; scheduleDom();
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
  for (const r of S.rows.values()) r.querySelector(".pick").checked = false;
  renderBulk();
};
