// Timeline (Gantt) of updates: one row per resource, one bar per update,
// the critical path (computed by the server) outlined.
"use strict";

function renderTimeline(el, history) {
  const ups = history.updates || [];
  const crit = new Set(history.critical_path || []);
  el.textContent = "";
  if (!ups.length) { el.textContent = "No updates yet."; return; }
  const now = Date.now() / 1000;
  const t0 = Math.min(...ups.map((u) => u.start));
  const t1 = Math.max(...ups.map((u) => (u.end == null ? now : u.end)), t0 + 0.001);
  const span = t1 - t0;
  const rows = new Map();
  for (const u of ups) {
    if (!rows.has(u.resource)) rows.set(u.resource, []);
    rows.get(u.resource).push(u);
  }
  const axis = document.createElement("div");
  axis.className = "tl-axis";
  axis.innerHTML = `<span>${fmtTime(t0)}</span><span>${span.toFixed(1)} s</span><span>${fmtTime(t1)}</span>`;
  el.appendChild(axis);
  const frag = document.createDocumentFragment();
  for (const [name, list] of rows) {
    const row = document.createElement("div");
    row.className = "tl-row";
    row.dataset.resource = name;
    const label = document.createElement("div");
    label.className = "tl-name";
    label.textContent = name;
    const track = document.createElement("div");
    track.className = "tl-track";
    for (const u of list) {
      const end = u.end == null ? now : u.end;
      const bar = document.createElement("div");
      const kinds = u.reasons.map((r) => r.kind);
      bar.className = `bar ${u.result}` + (crit.has(u.id) ? " critical" : "");
      bar.dataset.id = u.id;
      bar.dataset.reasons = kinds.join(" ");
      bar.style.left = `${((u.start - t0) / span) * 100}%`;
      bar.style.width = `${Math.max(0.2, ((end - u.start) / span) * 100)}%`;
      const dur = (end - u.start).toFixed(2);
      bar.title = `#${u.id} ${name}: ${u.reason_text} — ${u.result}, ${dur} s` + (u.error ? `\n${u.error}` : "") +
        (crit.has(u.id) ? "\n(on the critical path)" : "");
      bar.textContent = kinds.join(",");
      track.appendChild(bar);
    }
    row.append(label, track);
    frag.appendChild(row);
  }
  el.appendChild(frag);
}

window.renderTimeline = renderTimeline;
