// The dashboard: one WebSocket for view deltas, log lines and heartbeats;
// keyed rows touched only when their resource's view changed; the page's
// place kept in the URL; actions through the API, failures in a toast.
"use strict";


const LOST_AFTER_MS = 1200;   // the server sends a heartbeat every 0.5 s of silence; detection stays within 2 s
// Until the first frame (the snapshot) arrives: at 10,000 resources it is 7 MB, and a page under load can
// take longer than LOST_AFTER_MS to receive it whole. Giving up then would only ask for it again.
const FIRST_FRAME_MS = 20000;

const S = {
  views: new Map(), order: [], index: new Map(),
  // The resource list's model (sidebar.js): groups in display order, each row's place, the list's size.
  layout: [], pos: new Map(), meta: new Map(), groupBy: new Map(), listHeight: 0, listCount: 0,
  collapsed: new Set(), revealPending: null, changed: new Set(), dirtyLayout: true,
  selected: null, tab: "resources", config: { buttons: [] },
  filter: Filter.parseFilter(""), pins: new Set(JSON.parse(localStorage.getItem("lockstep.pins") || "[]")),
  picked: new Set(), sort: { key: "name", dir: 1 }, counts: null,
  logSeq: null, ws: null, backoff: 250, lastHeard: 0, heardFrame: false, live: false,
  dirtyDetail: false, dirtyGroups: false, dirtyTable: false, refreshTimer: null,
};

const book = new LogBook();
const logs = new LogPane($("log"), $("log-count"), $("log-more"));
logs.onFollowChange = (on) => { $("log-follow").checked = on; };
logs.onNeedOlder = async (src) => { if (await book.older(src) && logs.src === src) logs.prepended(); };

// ---------------------------------------------------------------- actions
const trigger = (name) => Api.post("/api/trigger", { resources: [name] }, `trigger ${name}`);
const setEnabled = (name, enabled) => Api.post("/api/enable", { resources: [name], enabled }, `${enabled ? "enable" : "disable"} ${name}`);
const setMode = (name, mode) => Api.post("/api/trigger-mode", { resources: [name], mode }, `set ${name}'s trigger mode`);
async function runButton(b) {
  if (b.confirm && !confirm(`Run "${b.text}"?\n${b.command}`)) return;
  if (await Api.post("/api/button", { name: b.name }, `button ${b.text}`)) Api.toast(`started: ${b.text}`, "info");
}

// ---------------------------------------------------------------- connection
function setLive(live) {
  S.live = live;
  $("banner").hidden = live;
  $("conn").textContent = live ? "live" : "disconnected";
  $("conn").className = `conn ${live ? "up" : "down"}`;
}

function connect() {
  // A short replay of the combined stream: older lines come on demand (scroll back, or select a resource).
  const params = S.logSeq !== null ? { logs: String(S.logSeq) } : { tail: "1500" };
  const ws = new WebSocket(Api.streamUrl(params));
  S.ws = ws;
  S.lastHeard = Date.now();
  S.heardFrame = false;
  ws.onopen = () => {
    S.backoff = 250; S.lastHeard = Date.now(); setLive(true);
    sessionStorage.removeItem("lockstep.reloads");  // the page loaded whole (see index.html)
  };
  ws.onmessage = (ev) => { S.lastHeard = Date.now(); S.heardFrame = true; handle(JSON.parse(ev.data)); };
  ws.onclose = () => {
    if (S.ws !== ws) return;
    S.ws = null;
    setLive(false);
    // Capped exponential backoff; the stream resumes logs from the last seq.
    setTimeout(connect, S.backoff);
    S.backoff = Math.min(S.backoff * 2, 5000);
  };
}

// No close frame comes from a server that was killed or stopped hard: silence is the signal.
setInterval(() => {
  const limit = S.heardFrame ? LOST_AFTER_MS : FIRST_FRAME_MS;
  if (S.ws && S.ws.readyState === WebSocket.OPEN && Date.now() - S.lastHeard > limit) {
    const ws = S.ws;
    ws.onclose(); ws.close();
  }
}, 100);

function handle(msg) {
  if (msg.type === "hb") return;
  if (msg.type === "snapshot") {
    if (S.logSeq !== null && msg.log_checkpoint < S.logSeq) {
      // A new `up` (log seqs start again): what the page holds belongs to the old one.
      S.logSeq = null; book.reset(); openLogs();
    }
    const names = new Set(msg.view.resources.map((v) => v.name));
    for (const name of [...S.views.keys()]) if (!names.has(name)) removeResource(name);
    setOrder(msg.view.resources.map((v) => v.name));
    applyViews(msg.view.resources);
    applyConfig(msg.view.config);
    refreshSide();
  } else if (msg.type === "delta") {
    for (const name of msg.removed) removeResource(name);
    if (msg.changed.some((v) => !S.index.has(v.name))) setOrder([...S.order, ...msg.changed.map((v) => v.name).filter((n) => !S.index.has(n))]);
    applyViews(msg.changed);
    if (msg.config) applyConfig(msg.config);
    if (msg.history.length || msg.changed.length) refreshSide();
  } else if (msg.type === "logs") {
    if (msg.skipped) {
      const at = msg.lines.length ? msg.lines[0].at : Date.now() / 1000;
      book.addLive([{ seq: msg.lines.length ? msg.lines[0].seq - 0.5 : msg.checkpoint, resource: "(lockstep)", source: "system",
        stream: "none", level: "warn", at, text: `… ${msg.skipped.toLocaleString()} lines skipped here (select a resource for its own history)` }]);
    }
    book.addLive(msg.lines);
    S.logSeq = msg.checkpoint;
    logs.appended();
  }
}

function setOrder(order) { S.order = order; S.index = new Map(order.map((n, i) => [n, i])); relayout(); }

function applyConfig(cfg) {
  S.config = cfg;
  const el = $("config-errors");
  el.hidden = !cfg.errors.length;
  el.textContent = cfg.errors.join("\n");
  const gb = $("global-buttons");
  gb.textContent = "";
  for (const b of (cfg.buttons || []).filter((x) => !x.resource)) gb.appendChild(buttonEl(b));
  S.dirtyDetail = true; scheduleDom();
}

function buttonEl(b) {
  const el = document.createElement("button");
  el.className = "ui-button"; el.dataset.button = b.name;
  el.textContent = b.text; el.title = b.command || "no command";
  el.disabled = b.disabled;
  el.onclick = () => runButton(b);
  return el;
}

let domPending = false;
function scheduleDom() {
  if (domPending) return;
  domPending = true;
  requestAnimationFrame(() => {
    domPending = false;
    if (S.dirtyGroups) {
      S.dirtyGroups = false;
      const full = summarise();
      if (S.tab === "errors") renderErrors();
      // Sorted by name, the table's order changes only with a full pass (filter, pins, resources added or
      // removed): a delta redraws the rows in view; other columns can move a row, so they sort again.
      if (S.tab === "table") { if (full || S.sort.key !== "name") S.dirtyTable = true; else drawTable(); }
    }
    if (S.dirtyTable && S.tab === "table") { S.dirtyTable = false; renderTable(); }
    if (S.dirtyDetail) { S.dirtyDetail = false; renderDetail(); }
  });
}

// ---------------------------------------------------------------- selection, logs, detail
function openLogs() {
  if (S.selected === null) { logs.show(book.all); return; }
  const name = S.selected;
  const e = book.open(name, (ready) => { if (logs.src === ready) logs.show(ready); });
  logs.show(e);
}

const TILTFILE_LOG = "(Tiltfile)";  // the Tiltfile's own log (prints, warnings, errors): no resource, but a row

function select(name, push = true) {
  if (name !== null && name !== TILTFILE_LOG && !S.views.has(name) && S.views.size) name = null;
  const changed = S.selected !== name;
  // Keyboard focus on a row follows the selection (j/k), even to a row that was not in the DOM.
  const focusRow = document.activeElement instanceof HTMLElement && document.activeElement.closest("#reslist .row");
  S.selected = name;
  for (const [id, on] of [["all-row", name === null], ["tiltfile-row", name === TILTFILE_LOG]]) {
    $(id).classList.toggle("selected", on); $(id).setAttribute("aria-selected", on ? "true" : "false");
  }
  let row = null;
  if (name === null || name === TILTFILE_LOG) {
    S.revealPending = null;
    row = $(name === null ? "all-row" : "tiltfile-row");
    row.scrollIntoView({ block: "nearest" });
    ResList.draw();
  } else {
    row = ResList.reveal(name);
  }
  if (focusRow && row && row !== document.activeElement) row.focus({ preventScroll: true });
  if (changed || logs.src.resource !== name) openLogs();
  $("log-follow").checked = true;
  if (S.tab !== "resources") showTab("resources", false);
  writeUrl(push && changed);
  S.dirtyDetail = true; scheduleDom();
}

function renderDetail() {
  const el = $("detail");
  const v = S.selected === null ? null : S.views.get(S.selected);
  if (S.selected === TILTFILE_LOG) {
    el.innerHTML = `<h2>Tiltfile</h2><div class="dim">What evaluating the Tiltfile printed, warned about and failed on.</div>` +
      (S.config.errors && S.config.errors.length ? `<pre class="excerpt">${S.config.errors.map(esc).join("\n")}</pre>` : "");
    return;
  }
  if (!v) {
    el.innerHTML = '<h2>All resources</h2><div class="dim">Combined log of every resource. Select one for its details and its whole log.</div>';
    return;
  }
  const last = v.last;
  const links = v.endpoints.map((e, i) => `<a href="${esc(e.url)}" target="_blank" rel="noopener" title="Shift+${i + 1}">${esc(e.name)}</a>`).join(" ");
  const ex = v.excerpt || [];
  el.innerHTML = `
    <h2><span class="badge st-${v.update_status}" id="detail-status">${esc(v.update_status.replace("_", " "))}</span>
      <span>${esc(v.name)}</span>
      <button id="pin-btn" title="pin to the top">${S.pins.has(v.name) ? "★ pinned" : "☆ pin"}</button>
      <button id="trigger-btn" ${v.enabled ? "" : "disabled"}>Trigger update (r)</button>
      <button id="mode-btn" data-mode="${v.trigger_mode}">trigger mode: ${v.trigger_mode}</button>
      <button id="enable-btn" data-enabled="${v.enabled}">${v.enabled ? "Disable" : "Enable"}</button>
      <span id="res-buttons"></span></h2>
    ${v.hold_text ? `<div class="holdtext" id="detail-hold">${esc(v.hold_text)}</div>` : ""}
    ${ex.length ? `<pre class="excerpt" id="detail-excerpt" title="the failed update's output, error lines first">${ex.map(esc).join("\n")}</pre>` : ""}
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
  $("pin-btn").onclick = () => togglePin(v.name);
  for (const b of (S.config.buttons || []).filter((x) => x.resource === v.name)) $("res-buttons").appendChild(buttonEl(b));
}

// ---------------------------------------------------------------- tabs, timeline, graph
function refreshSide() {
  if (S.tab !== "timeline" && S.tab !== "graph") return;
  clearTimeout(S.refreshTimer);
  // Debounced: a burst of deltas costs one fetch.
  S.refreshTimer = setTimeout(async () => {
    const names = S.filter.empty ? null : new Set(filteredNames());
    if (S.tab === "timeline") {
      const h = await Api.get("/api/history?limit=5000", "loading the timeline");
      if (h) Timeline.render(h, names); else retrySide();
    } else if (S.tab === "graph") {
      const g = await Api.get("/api/graph", "loading the graph");
      if (g) Graph.render($("graph"), g, names, (n) => select(n)).catch((e) => Api.toast(e.message));
      else retrySide();
    }
  }, 120);
}

// A fetch that failed while the stream is up (the browser cancels requests when the machine's network changes)
// is asked again: with nothing new happening, no delta would ask for it. Disconnected, the snapshot that comes
// with the reconnect asks.
function retrySide() {
  if (!S.live) return;
  clearTimeout(S.refreshTimer);
  S.refreshTimer = setTimeout(refreshSide, 1000);
}

function showTab(tab, push = true) {
  if (!UrlState.TABS.includes(tab)) tab = "resources";
  S.tab = tab;
  for (const b of document.querySelectorAll("#tabs button")) {
    b.classList.toggle("active", b.dataset.tab === tab);
    b.setAttribute("aria-selected", b.dataset.tab === tab ? "true" : "false");
  }
  for (const t of UrlState.TABS) $(`pane-${t}`).hidden = t !== tab;
  if (tab === "resources") logs.relayout();
  if (tab === "errors") renderErrors();
  if (tab === "table") renderTable();
  refreshSide();
  writeUrl(push);
}

// ---------------------------------------------------------------- URL
function writeUrl(push) {
  if (S.applyingUrl) return;
  const f = logs.filter;
  UrlState.write({ tab: S.tab, selected: S.selected, params: {
    q: $("log-filter").value, rq: $("res-filter").value, level: f.level === "all" ? "" : f.level,
    stream: f.stream === "all" ? "" : f.stream, src: f.source === "all" ? "" : f.source,
    re: f.regex ? "1" : "", wrap: logs.wrap ? "" : "0",
  } }, push);
}

function applyUrl() {
  const st = UrlState.parse(location.hash);
  S.applyingUrl = true;
  const p = st.params;
  $("log-filter").value = p.q || ""; $("log-regex").checked = p.re === "1";
  $("log-level").value = p.level || "all"; $("log-stream").value = p.stream || "all"; $("log-source").value = p.src || "all";
  $("log-wrap").checked = p.wrap !== "0";
  logs.wrap = p.wrap !== "0";
  logs.setFilter({ text: p.q || "", regex: p.re === "1", level: p.level || "all", stream: p.stream || "all", source: p.src || "all" });
  setResourceFilter(p.rq || "", false);
  if (st.tab === "resources") select(st.selected, false);
  showTab(st.tab, false);
  S.applyingUrl = false;
}

function setResourceFilter(q, write) {
  $("res-filter").value = q;
  S.filter = Filter.parseFilter(q);
  applyFilter();
  S.dirtyTable = true;
  if (S.tab === "errors") renderErrors();
  refreshSide();
  if (write) writeUrl(false);
}

// ---------------------------------------------------------------- keyboard
function move(delta) {
  const names = navNames();
  if (!names.length) return;
  const i = S.selected === null ? -1 : names.indexOf(S.selected);
  select(names[Math.max(0, Math.min(names.length - 1, i + delta))]);
}

// Only fields that take text swallow shortcuts; a clicked checkbox, button or dropdown does not.
const isTextField = (t) => t instanceof HTMLTextAreaElement ||
  (t instanceof HTMLInputElement && !["checkbox", "radio", "button", "submit"].includes(t.type));

document.addEventListener("keydown", (e) => {
  const inField = isTextField(e.target);
  if (e.key === "Escape") { $("help").hidden = true; if (inField || e.target instanceof HTMLSelectElement) e.target.blur(); return; }
  if (inField || e.altKey) return;
  if ((e.ctrlKey || e.metaKey) && e.key === "Backspace") { e.preventDefault(); logs.clear(); return; }
  if (e.ctrlKey || e.metaKey) return;
  if (e.shiftKey && /^Digit[1-9]$/.test(e.code)) {
    const v = S.selected && S.views.get(S.selected);
    const ep = v && v.endpoints[Number(e.code.slice(5)) - 1];
    if (ep) { e.preventDefault(); window.open(ep.url, "_blank", "noopener"); }
    return;
  }
  if (e.target instanceof HTMLSelectElement && !["?", "/"].includes(e.key)) e.target.blur();
  if (e.key === "j") move(1);
  else if (e.key === "k") move(-1);
  else if (e.key === "r" && S.selected) trigger(S.selected);
  else if (e.key === "/") { e.preventDefault(); showTab("resources"); $("log-filter").focus(); }
  else if (e.key === "f") { e.preventDefault(); $("res-filter").focus(); }
  else if (e.key === "?") $("help").hidden = !$("help").hidden;
  else if (/^[1-5]$/.test(e.key)) showTab(UrlState.TABS[Number(e.key) - 1]);
});

// ---------------------------------------------------------------- wiring
$("help-btn").onclick = () => { $("help").hidden = !$("help").hidden; };
$("all-row").onclick = () => select(null);
$("all-row").onkeydown = (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); select(null); } };
$("tiltfile-row").onclick = () => select(TILTFILE_LOG);
$("tiltfile-row").onkeydown = (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); select(TILTFILE_LOG); } };
for (const b of document.querySelectorAll("#tabs button")) b.onclick = () => showTab(b.dataset.tab);
const logFilter = (patch) => { logs.setFilter(patch); writeUrl(false); };
$("log-filter").oninput = () => logFilter({ text: $("log-filter").value });
$("log-regex").onchange = () => logFilter({ regex: $("log-regex").checked, text: $("log-filter").value });
$("log-level").onchange = () => logFilter({ level: $("log-level").value });
$("log-stream").onchange = () => logFilter({ stream: $("log-stream").value });
$("log-source").onchange = () => logFilter({ source: $("log-source").value });
$("log-wrap").onchange = () => { logs.setWrap($("log-wrap").checked); writeUrl(false); };
$("log-follow").onchange = () => { logs.follow = $("log-follow").checked; logs.schedule(); };
$("log-copy").onclick = () => navigator.clipboard.writeText(logs.text()).then(() => Api.toast("copied", "info"), () => Api.toast("copy failed"));
$("log-clear").onclick = () => logs.clear();
$("res-filter").oninput = () => setResourceFilter($("res-filter").value, true);
$("graph-fit").onclick = () => Graph.fit();
// Links to a resource (errors pane, table, timeline) select it and keep the filters, unlike a new URL would.
document.addEventListener("click", (e) => {
  const a = e.target.closest('a[href^="#/r/"]');
  if (!a || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
  e.preventDefault();
  select(decodeURIComponent(a.getAttribute("href").slice(4)));
});
window.addEventListener("popstate", applyUrl);
window.addEventListener("hashchange", applyUrl);

applyUrl();
renderDetail();
connect();
