// The dashboard: one WebSocket for view deltas and log lines; keyed rows that
// are touched only when their resource's view changed; actions via the API.
"use strict";

const TOKEN = document.querySelector('meta[name="lockstep-token"]').content;
const $ = (id) => document.getElementById(id);

const S = {
  views: new Map(),      // name -> view model (from the server)
  order: [],             // the server's order (topological)
  rows: new Map(),       // name -> row element
  groups: new Map(),     // label -> {el, rowsEl, sumEl}
  selected: null,        // resource name, or null for "all"
  tab: "resources",
  logSeq: null,          // last log seq received (resume point on reconnect)
  ws: null, backoff: 250,
  dirtyDetail: false, dirtyGroups: false, refreshTimer: null,
};

const logs = new LogPane($("log"), $("log-count"));
logs.onFollowChange = (on) => { $("log-follow").checked = on; };

// ---------------------------------------------------------------- API
async function post(path, body) {
  const res = await fetch(path, {
    method: "POST", headers: { "Content-Type": "application/json", "X-Lockstep-Token": TOKEN },
    body: JSON.stringify(body),
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) toast(data.error || `${res.status} ${res.statusText}`);
  return data;
}
const trigger = (name) => post("/api/trigger", { resources: [name] });
const setEnabled = (name, enabled) => post("/api/enable", { resources: [name], enabled });
const setMode = (name, mode) => post("/api/trigger-mode", { resources: [name], mode });

function toast(msg) {
  const t = $("toast");
  t.textContent = msg; t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 4000);
}

// ---------------------------------------------------------------- stream
function connect() {
  const q = new URLSearchParams({ token: TOKEN });
  if (S.logSeq !== null) q.set("logs", String(S.logSeq)); else q.set("tail", "5000");
  const ws = new WebSocket(`ws://${location.host}/api/stream?${q}`);
  S.ws = ws;
  ws.onopen = () => {
    S.backoff = 250;
    $("banner").hidden = true;
    $("conn").textContent = "live"; $("conn").className = "conn up";
  };
  ws.onmessage = (ev) => handle(JSON.parse(ev.data));
  ws.onclose = () => {
    $("banner").hidden = false;
    $("conn").textContent = "disconnected"; $("conn").className = "conn down";
    // Capped exponential backoff; the stream resumes logs from the last seq.
    setTimeout(connect, S.backoff);
    S.backoff = Math.min(S.backoff * 2, 5000);
  };
}

function handle(msg) {
  if (msg.type === "snapshot") {
    const names = new Set(msg.view.resources.map((v) => v.name));
    for (const name of [...S.views.keys()]) if (!names.has(name)) removeResource(name);
    applyViews(msg.view.resources);
    S.order = msg.view.resources.map((v) => v.name);
    applyConfig(msg.view.config);
    refreshSide();
  } else if (msg.type === "delta") {
    for (const name of msg.removed) removeResource(name);
    applyViews(msg.changed);
    if (msg.changed.length || msg.removed.length) S.order = orderFromViews();
    if (msg.config) applyConfig(msg.config);
    if (msg.history.length || msg.changed.some((v) => v.running || v.last)) refreshSide();
  } else if (msg.type === "logs") {
    if (msg.skipped) {
      // The engine's in-memory window moved past us (a flood): say so, the rest is on disk.
      const at = msg.lines.length ? msg.lines[0].at : Date.now() / 1000;
      logs.add([{ seq: msg.lines.length ? msg.lines[0].seq - 0.5 : msg.checkpoint, resource: "(lockstep)",
        source: "system", level: "warn", at, text: `… ${msg.skipped.toLocaleString()} lines skipped (full logs: lockstep logs, or the state dir)` }]);
    }
    logs.add(msg.lines);
    S.logSeq = msg.checkpoint;
  }
}

function orderFromViews() {
  const known = S.order.filter((n) => S.views.has(n));
  const seen = new Set(known);
  for (const n of S.views.keys()) if (!seen.has(n)) known.push(n);
  return known;
}

function applyConfig(cfg) {
  const el = $("config-errors");
  el.hidden = !cfg.errors.length;
  el.textContent = cfg.errors.join("\n");
}

// ---------------------------------------------------------------- resource list
function groupOf(v) { return v.labels.length ? v.labels[0] : "unlabeled"; }

function ensureGroup(label) {
  let g = S.groups.get(label);
  if (g) return g;
  const el = document.createElement("div");
  el.className = "group";
  el.dataset.group = label;
  el.innerHTML = '<div class="ghead"><span class="gname"></span><span class="gsum"></span></div><div class="rows"></div>';
  el.querySelector(".gname").textContent = label;
  el.querySelector(".ghead").addEventListener("click", () => el.classList.toggle("collapsed"));
  g = { el, rowsEl: el.querySelector(".rows"), sumEl: el.querySelector(".gsum") };
  S.groups.set(label, g);
  // Groups sorted by name, "unlabeled" last (as Tilt does).
  const after = [...S.groups.keys()].filter((k) => k !== label).sort()
    .find((k) => (label === "unlabeled" ? false : k === "unlabeled" || k > label));
  $("groups").insertBefore(el, after ? S.groups.get(after).el : null);
  return g;
}

function buildRow(name) {
  const row = document.createElement("div");
  row.className = "row";
  row.dataset.resource = name;
  row.innerHTML = '<span class="dot"></span><span class="name"></span><span class="pend"></span>' +
    '<button class="trig" title="trigger update (r)">▶</button><div class="sub"></div>';
  row.querySelector(".name").textContent = name;
  row.addEventListener("click", () => select(name));
  row.querySelector(".trig").addEventListener("click", (e) => { e.stopPropagation(); trigger(name); });
  return row;
}

function applyViews(views) {
  for (const v of views) {
    const old = S.views.get(v.name);
    S.views.set(v.name, v);
    let row = S.rows.get(v.name);
    if (!row) { row = buildRow(v.name); S.rows.set(v.name, row); }
    const label = groupOf(v);
    if (!old || groupOf(old) !== label || !row.parentNode) ensureGroup(label).rowsEl.appendChild(row);
    row.className = `row s-${v.update_status}` + (S.selected === v.name ? " selected" : "");
    row.dataset.status = v.update_status;
    row.dataset.runtime = v.runtime_status;
    row.querySelector(".pend").textContent = v.pending.length ? "● pending" : "";
    row.querySelector(".pend").title = v.pending.join("\n");
    const sub = row.querySelector(".sub");
    sub.className = "sub" + (v.hold_text ? " hold" : "");
    sub.textContent = subText(v);
    if (v.name === S.selected) S.dirtyDetail = true;
  }
  S.dirtyGroups = true;
  scheduleDom();
}

function subText(v) {
  if (v.hold_text) return v.hold_text;
  const parts = [v.update_status.replace("_", " ")];
  if (v.runtime_status !== "none") parts.push(`runtime ${v.runtime_status}`);
  if (v.probe && !v.probe.ok) parts.push(`probe ${v.probe_text}`);
  if (v.last_duration != null) parts.push(`${v.last_duration.toFixed(2)} s`);
  if (v.last && v.last.error) parts.push(v.last.error);
  return parts.join(" · ");
}

function removeResource(name) {
  const row = S.rows.get(name);
  if (row) row.remove();
  S.rows.delete(name); S.views.delete(name);
  if (S.selected === name) select(null);
  S.dirtyGroups = true; scheduleDom();
}

let domPending = false;
function scheduleDom() {
  if (domPending) return;
  domPending = true;
  requestAnimationFrame(() => {
    domPending = false;
    if (S.dirtyGroups) { S.dirtyGroups = false; summarise(); }
    if (S.dirtyDetail) { S.dirtyDetail = false; renderDetail(); }
  });
}

function summarise() {
  const counts = new Map();
  const total = { ok: 0, err: 0, busy: 0, held: 0, n: 0 };
  for (const v of S.views.values()) {
    const label = groupOf(v);
    if (!counts.has(label)) counts.set(label, { ok: 0, err: 0, busy: 0, held: 0, n: 0 });
    for (const c of [counts.get(label), total]) {
      c.n++;
      if (v.update_status === "ok") c.ok++;
      else if (v.update_status === "error") c.err++;
      else if (v.update_status === "in_progress") c.busy++;
      else if (v.update_status === "held") c.held++;
    }
  }
  for (const [label, g] of S.groups) {
    const c = counts.get(label);
    if (!c) { g.el.remove(); S.groups.delete(label); continue; }
    g.sumEl.innerHTML = `<span class="ok">${c.ok} ok</span> <span class="err">${c.err} err</span> ` +
      `<span class="busy">${c.busy} busy</span> <span class="held">${c.held} held</span> / ${c.n}`;
  }
  $("summary").textContent = `${total.n} resources · ${total.ok} ok · ${total.err} failed · ${total.busy} updating · ${total.held} held`;
}

// ---------------------------------------------------------------- detail
function select(name) {
  S.selected = name;
  for (const r of document.querySelectorAll(".row.selected")) r.classList.remove("selected");
  const row = name === null ? $("all-row") : S.rows.get(name);
  if (row) { row.classList.add("selected"); row.scrollIntoView({ block: "nearest" }); }
  logs.setFilter({ resource: name });
  $("log-follow").checked = true;
  S.dirtyDetail = true; scheduleDom();
}

function esc(s) { const d = document.createElement("span"); d.textContent = s == null ? "" : String(s); return d.innerHTML; }

function renderDetail() {
  const el = $("detail");
  const v = S.selected === null ? null : S.views.get(S.selected);
  if (!v) { el.innerHTML = '<h2>All resources</h2><div class="dim">Combined log of every resource. Select one for its details.</div>'; return; }
  const last = v.last;
  const links = v.endpoints.map((e) => `<a href="${esc(e.url)}" target="_blank" rel="noopener">${esc(e.name)}</a>`).join(" ");
  el.innerHTML = `
    <h2><span class="badge st-${v.update_status}" id="detail-status">${esc(v.update_status.replace("_", " "))}</span>
      <span>${esc(v.name)}</span>
      <button id="trigger-btn" ${v.enabled ? "" : "disabled"}>Trigger update (r)</button>
      <button id="mode-btn" data-mode="${v.trigger_mode}">trigger mode: ${v.trigger_mode}</button>
      <button id="enable-btn" data-enabled="${v.enabled}">${v.enabled ? "Disable" : "Enable"}</button></h2>
    ${v.hold_text ? `<div class="holdtext" id="detail-hold">${esc(v.hold_text)}</div>` : ""}
    <dl class="kv">
      <dt>kind</dt><dd>${esc(v.kind)}${v.labels.length ? " · labels: " + esc(v.labels.join(", ")) : ""}</dd>
      <dt>runtime</dt><dd>${esc(v.runtime_status)}${v.restarts ? ` (${v.restarts} restarts)` : ""}${v.probe_text ? ` · readiness probe <span id="detail-probe">${esc(v.probe_text)}</span>` : ""}</dd>
      <dt>pending changes</dt><dd>${v.pending.length ? esc(v.pending.join("; ")) : "none"}</dd>
      <dt>last update</dt><dd>${last ? `#${last.id} ${esc(last.result)} at ${fmtTime(last.start)}, ${v.last_duration ?? "…"} s — ${esc(last.reasons.map((r) => r.kind).join(", "))}${last.error ? " — " + esc(last.error) : ""}` : "never"}</dd>
      <dt>running</dt><dd>${v.running ? `#${v.running.id} since ${fmtTime(v.running.start)}` : "no"}</dd>
      <dt>next update</dt><dd>${v.next_update ? fmtTime(v.next_update) : "—"}</dd>
      <dt>upstreams</dt><dd>${esc(v.upstreams.join(", ") || "none")}</dd>
      <dt>links</dt><dd>${links || "none"}</dd>
    </dl>`;
  $("trigger-btn").onclick = () => trigger(v.name);
  $("mode-btn").onclick = () => setMode(v.name, v.trigger_mode === "auto" ? "manual" : "auto");
  $("enable-btn").onclick = () => setEnabled(v.name, !v.enabled);
}

// ---------------------------------------------------------------- timeline / graph
function refreshSide() {
  if (S.tab === "resources") return;
  clearTimeout(S.refreshTimer);
  // Debounced: a burst of deltas costs one fetch.
  S.refreshTimer = setTimeout(async () => {
    if (S.tab === "timeline") {
      const h = await (await fetch("/api/history?limit=400")).json();
      renderTimeline($("timeline"), h);
    } else if (S.tab === "graph") {
      const g = await (await fetch("/api/graph")).json();
      renderGraph($("graph"), g, (n) => { showTab("resources"); select(n); });
    }
  }, 150);
}

function showTab(tab) {
  S.tab = tab;
  for (const b of document.querySelectorAll("#tabs button")) b.classList.toggle("active", b.dataset.tab === tab);
  for (const t of ["resources", "timeline", "graph"]) $(`pane-${t}`).hidden = t !== tab;
  if (tab === "resources") logs.schedule();
  refreshSide();
}

// ---------------------------------------------------------------- wiring
function visibleNames() {
  return [...document.querySelectorAll("#groups .group:not(.collapsed) .row")]
    .filter((r) => r.style.display !== "none").map((r) => r.dataset.resource);
}

function move(delta) {
  const names = visibleNames();
  if (!names.length) return;
  const i = S.selected === null ? -1 : names.indexOf(S.selected);
  select(names[Math.max(0, Math.min(names.length - 1, i + delta))]);
}

document.addEventListener("keydown", (e) => {
  const inField = e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement;
  if (e.key === "Escape") { $("help").hidden = true; if (inField) e.target.blur(); return; }
  if (inField || e.ctrlKey || e.metaKey || e.altKey) return;
  if (e.key === "j") move(1);
  else if (e.key === "k") move(-1);
  else if (e.key === "r" && S.selected) trigger(S.selected);
  else if (e.key === "/") { e.preventDefault(); showTab("resources"); $("log-filter").focus(); }
  else if (e.key === "?") $("help").hidden = !$("help").hidden;
  else if (e.key === "1") showTab("resources");
  else if (e.key === "2") showTab("timeline");
  else if (e.key === "3") showTab("graph");
});

$("help-btn").onclick = () => { $("help").hidden = !$("help").hidden; };
$("all-row").onclick = () => select(null);
for (const b of document.querySelectorAll("#tabs button")) b.onclick = () => showTab(b.dataset.tab);
$("log-filter").oninput = () => logs.setFilter({ text: $("log-filter").value });
$("log-regex").onchange = () => logs.setFilter({ regex: $("log-regex").checked, text: $("log-filter").value });
$("log-level").onchange = () => logs.setFilter({ level: $("log-level").value });
$("log-source").onchange = () => logs.setFilter({ source: $("log-source").value });
$("log-follow").onchange = () => { logs.follow = $("log-follow").checked; logs.schedule(); };
$("log-copy").onclick = () => navigator.clipboard.writeText(logs.text()).then(() => toast("copied"), () => toast("copy failed"));
$("log-clear").onclick = () => logs.clear();
$("res-filter").oninput = () => {
  const q = $("res-filter").value.toLowerCase();
  for (const [name, row] of S.rows) row.style.display = !q || name.toLowerCase().includes(q) ? "" : "none";
};

renderDetail();
connect();
