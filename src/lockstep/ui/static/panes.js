// The errors pane (every failed resource, its failure excerpt, a link to it)
// and the overview table (sortable, pinned resources first).
"use strict";

function esc(s) { const d = document.createElement("span"); d.textContent = s == null ? "" : String(s); return d.innerHTML; }
function resLink(name) { return `#/r/${encodeURIComponent(name)}`; }

function renderErrors() {
  const el = $("errors");
  const failed = filteredNames().map((n) => S.views.get(n)).filter((v) => Filter.bucketOf(v) === "failed");
  if (!failed.length) {
    el.innerHTML = `<div class="empty">No failed resources${S.filter.empty ? "" : " match the filter"}.</div>`;
    return;
  }
  el.innerHTML = failed.map((v) => {
    const last = v.last;
    const what = last ? `update #${last.id} ${esc(last.result)} at ${fmtTime(last.end || last.start)}${last.error ? " — " + esc(last.error) : ""}`
      : `runtime ${esc(v.runtime_status)}`;
    const ex = (v.excerpt || []).map((l) => esc(l)).join("\n");
    return `<div class="err-item" data-resource="${esc(v.name)}">
      <div class="err-head"><a class="err-link" href="${resLink(v.name)}">${esc(v.name)}</a>
        <span class="dim">${what}</span></div>
      ${ex ? `<pre class="excerpt">${ex}</pre>` : '<div class="dim">no output was recorded for this update</div>'}</div>`;
  }).join("");
}

// ---------------------------------------------------------------- table
const COLUMNS = [
  { key: "pin", title: "★", sort: (v) => (S.pins.has(v.name) ? 0 : 1) },
  { key: "name", title: "Name", sort: (v) => v.name },
  { key: "kind", title: "Kind", sort: (v) => v.kind },
  { key: "status", title: "Status", sort: (v) => Filter.BUCKETS.indexOf(Filter.bucketOf(v)) },
  { key: "updated", title: "Last update", sort: (v) => -(v.last ? v.last.end || v.last.start : 0) },
  { key: "trigger", title: "Trigger", sort: (v) => v.trigger_mode },
  { key: "links", title: "Links", sort: (v) => v.endpoints.length },
  { key: "labels", title: "Labels", sort: (v) => v.labels.join(",") },
  { key: "hold", title: "Waiting / failure", sort: (v) => v.hold_text || headlineOf(v) },
];

function tableCells(v) {
  const last = v.last;
  const upd = last ? `${fmtTime(last.end || last.start)} · ${v.last_duration != null ? v.last_duration.toFixed(2) + " s" : "running"}` +
    ` · ${esc(last.reasons.map((r) => r.kind).join(", "))}` : v.running ? "running" : "never";
  return [
    `<button class="pin" title="pin to the top" aria-label="pin ${esc(v.name)}">${S.pins.has(v.name) ? "★" : "☆"}</button>`,
    `<a href="${resLink(v.name)}">${esc(v.name)}</a>`,
    esc(v.kind),
    `<span class="badge st-${esc(v.update_status)}">${esc(Filter.bucketOf(v))}</span>` +
      (v.runtime_status !== "none" ? ` <span class="dim">runtime ${esc(v.runtime_status)}</span>` : ""),
    upd,
    esc(v.trigger_mode),
    v.endpoints.map((e) => `<a href="${esc(e.url)}" target="_blank" rel="noopener">${esc(e.name)}</a>`).join(" "),
    esc(v.labels.join(", ")),
    `<span class="${v.hold_text ? "hold" : "fail"}">${esc(v.hold_text || headlineOf(v))}</span>`,
  ];
}

// The overview table is virtual too: the sorted model is kept, only the rows in (and near) the view are
// rows of the DOM, between two spacer rows; aria-rowcount/aria-rowindex tell the whole table's size.
const Table = { names: [], rowH: 23, pending: false };
const TABLE_OVERSCAN = 10;  // rows drawn beyond each edge of the view

function renderTable() {
  const thead = $("overview").tHead, tbody = $("overview").tBodies[0];
  if (!thead.rows.length) {
    thead.innerHTML = '<tr aria-rowindex="1">' + COLUMNS.map((c) => `<th data-key="${c.key}" tabindex="0" role="columnheader">${c.title}</th>`).join("") + "</tr>";
    thead.addEventListener("click", (e) => { const th = e.target.closest("th"); if (th) sortTable(th.dataset.key); });
    thead.addEventListener("keydown", (e) => { const th = e.target.closest("th"); if (th && e.key === "Enter") sortTable(th.dataset.key); });
    tbody.addEventListener("click", (e) => {
      const tr = e.target.closest("tr");
      if (tr && e.target.closest(".pin")) togglePin(tr.dataset.resource);
    });
    $("table-wrap").addEventListener("scroll", scheduleTable, { passive: true });
    window.addEventListener("resize", scheduleTable);
  }
  for (const th of thead.rows[0].cells) {
    th.className = th.dataset.key === S.sort.key ? (S.sort.dir > 0 ? "asc" : "desc") : "";
    th.setAttribute("aria-sort", th.dataset.key === S.sort.key ? (S.sort.dir > 0 ? "ascending" : "descending") : "none");
  }
  const col = COLUMNS.find((c) => c.key === S.sort.key) || COLUMNS[1];
  // Keys computed once per row, not once per comparison: 10,000 rows sort in a few ms.
  const keyed = filteredNames().map((n) => { const v = S.views.get(n); return [S.pins.has(n) ? 0 : 1, col.sort(v), v]; });
  keyed.sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0) * S.sort.dir);  // pinned always first
  Table.names = keyed.map((k) => k[2].name);
  $("overview").setAttribute("aria-rowcount", String(Table.names.length + 1));
  drawTable();
}

function scheduleTable() {
  if (Table.pending || S.tab !== "table") return;
  Table.pending = true;
  requestAnimationFrame(() => { Table.pending = false; drawTable(); });
}

function drawTable() {
  const wrap = $("table-wrap"), tbody = $("overview").tBodies[0];
  const n = Table.names.length, h = Table.rowH;
  const from = Math.max(0, Math.floor(wrap.scrollTop / h) - TABLE_OVERSCAN);
  const to = Math.min(n, Math.ceil((wrap.scrollTop + wrap.clientHeight) / h) + TABLE_OVERSCAN);
  const pad = (px) => (px > 0 ? `<tr class="pad" aria-hidden="true" style="height:${px}px"><td colspan="${COLUMNS.length}"></td></tr>` : "");
  const rows = [];
  for (let i = from; i < to; i++) {
    const v = S.views.get(Table.names[i]);  // the current view: a delta redraws without sorting again
    if (!v) continue;
    rows.push(`<tr data-resource="${esc(v.name)}" data-bucket="${Filter.bucketOf(v)}" aria-rowindex="${i + 2}"` +
      ` class="${S.pins.has(v.name) ? "pinned" : ""}">` + tableCells(v).map((c) => `<td>${c}</td>`).join("") + "</tr>");
  }
  tbody.innerHTML = pad(from * h) + rows.join("") + pad((n - to) * h);
  // The offsets assume every row is as tall as the first one drawn (one line each, see style.css).
  const first = tbody.querySelector("tr[data-resource]");
  const real = first ? first.getBoundingClientRect().height : h;
  if (real > 0 && Math.abs(real - h) > 0.5) { Table.rowH = real; drawTable(); }
}

function sortTable(key) {
  S.sort = { key, dir: S.sort.key === key ? -S.sort.dir : 1 };
  renderTable();
}
