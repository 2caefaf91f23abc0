// Timeline (Gantt) of updates: one row per resource, one bar per update, the
// critical path (computed by the server) outlined. Every update the page has
// seen is kept; only the rows in view exist in the DOM.
"use strict";

const Timeline = (() => {
  const ROW = 22;
  const byId = new Map();     // update id -> record (kept across refreshes)
  let crit = new Set();
  let rows = [];              // [name, records[]] in display order
  let t0 = 0, t1 = 1;
  const el = document.getElementById("timeline");
  const spacer = el.querySelector(".tl-spacer"), rowsEl = el.querySelector(".tl-rows");
  let pending = false;
  el.addEventListener("scroll", () => schedule());
  window.addEventListener("resize", () => schedule());

  function schedule() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; draw(); });
  }

  function render(history, names) {
    for (const u of history.updates || []) byId.set(u.id, u);
    crit = new Set(history.critical_path || []);
    const per = new Map();
    for (const u of [...byId.values()].sort((a, b) => a.start - b.start)) {
      if (names && !names.has(u.resource)) continue;
      if (!per.has(u.resource)) per.set(u.resource, []);
      per.get(u.resource).push(u);
    }
    rows = [...per.entries()];
    const now = Date.now() / 1000;
    const all = rows.flatMap(([, l]) => l);
    t0 = all.length ? Math.min(...all.map((u) => u.start)) : now;
    t1 = all.length ? Math.max(...all.map((u) => (u.end == null ? now : u.end)), t0 + 0.001) : now + 1;
    const axis = document.getElementById("tl-axis");
    axis.innerHTML = all.length ? `<span>${fmtTime(t0)}</span><span>${all.length} updates · ${rows.length} resources · ${(t1 - t0).toFixed(1)} s</span><span>${fmtTime(t1)}</span>` : "";
    spacer.style.height = `${rows.length * ROW}px`;
    if (!all.length) rowsEl.textContent = "No updates yet.";
    draw();
  }

  function draw() {
    if (!rows.length) return;
    const first = Math.max(0, Math.floor(el.scrollTop / ROW) - 3);
    const count = Math.min(rows.length - first, Math.ceil(el.clientHeight / ROW) + 6);
    const span = t1 - t0, now = Date.now() / 1000;
    rowsEl.style.transform = `translateY(${first * ROW}px)`;
    const frag = document.createDocumentFragment();
    for (let i = first; i < first + count; i++) {
      const [name, list] = rows[i];
      const row = document.createElement("div");
      row.className = "tl-row";
      row.dataset.resource = name;
      const label = document.createElement("a");
      label.className = "tl-name"; label.href = `#/r/${encodeURIComponent(name)}`;
      label.textContent = name;
      const track = document.createElement("div");
      track.className = "tl-track";
      for (const u of list) {
        const end = u.end == null ? now : u.end;
        const bar = document.createElement("div");
        const kinds = u.reasons.map((r) => r.kind);
        bar.className = `bar ${u.result}` + (crit.has(u.id) ? " critical" : "") + (u.live_update ? " live" : "");
        bar.dataset.id = u.id;
        bar.dataset.reasons = kinds.join(" ");
        bar.style.left = `${((u.start - t0) / span) * 100}%`;
        bar.style.width = `${Math.max(0.2, ((end - u.start) / span) * 100)}%`;
        bar.title = `#${u.id} ${name}: ${u.reason_text}${u.live_update ? " (live update)" : ""} — ${u.result}, ${(end - u.start).toFixed(2)} s` + (u.error ? `\n${u.error}` : "") +
          (crit.has(u.id) ? "\n(on the critical path)" : "");
        bar.textContent = (u.live_update ? "live " : "") + kinds.join(",");
        track.appendChild(bar);
      }
      row.append(label, track);
      frag.appendChild(row);
    }
    rowsEl.textContent = "";
    rowsEl.appendChild(frag);
  }

  return { render, size: () => byId.size, rowCount: () => rows.length };
})();

window.Timeline = Timeline;
