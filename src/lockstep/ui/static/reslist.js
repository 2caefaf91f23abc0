// The virtual resource list: only the rows in (and near) the sidebar's view
// exist in the DOM, drawn from the model sidebar.js lays out (S.layout, posOf).
// A group is an element as tall as all its rows, so its header stays sticky
// while its rows scroll; rows sit at fixed offsets inside it. Row elements are
// recycled; a row is repainted only when its view, selection, pick or pin
// changed. The selected row and the focused one are always kept, so that focus
// survives scrolling them out of view and back.
"use strict";

const ResList = (() => {
  const OVERSCAN = 8 * RES_ROW_H;   // px drawn beyond each edge of the view: a fast wheel does not show blanks
  const scroller = $("sidebar"), host = $("groups");
  const groupEls = new Map();   // label -> {el, rowsEl, sumEl, nameEl, html}
  const rowEls = new Map();     // name -> row element, for the rows in the DOM
  const spare = [];             // row elements out of the DOM, to be reused
  let pending = false;

  const ROW_TEMPLATE = (() => {
    const row = document.createElement("div");
    row.className = "row";
    row.tabIndex = 0;
    row.setAttribute("role", "option");
    // autocomplete=off: every history entry (each selection, each filter keystroke) otherwise saves the state
    // of every form control on the page; the picks live in S.picked anyway.
    row.innerHTML = '<input type="checkbox" class="pick" autocomplete="off" aria-label="select for bulk actions"><span class="dot"></span>' +
      '<span class="name"></span><span class="pend"></span><button class="pin" title="pin to the top">☆</button>' +
      '<button class="trig" title="trigger update (r)">▶</button><div class="sub"></div>';
    return row;
  })();

  function newRow() {
    const row = ROW_TEMPLATE.cloneNode(true);  // cloned, not parsed
    const [pick, , nameEl, pend, pin, , sub] = row.children;
    Object.assign(row, { _pick: pick, _name: nameEl, _pend: pend, _pin: pin, _sub: sub });
    return row;
  }

  function newGroup(label) {
    const el = document.createElement("div");
    el.className = "group";
    el.dataset.group = label;
    el.setAttribute("role", "group");
    el.setAttribute("aria-label", label);
    el.innerHTML = '<div class="ghead"><span class="gname"></span><span class="gsum"></span>' +
      '<button class="gbulk" data-on="true" title="enable every resource of this group">enable all</button>' +
      '<button class="gbulk" data-on="false" title="disable every resource of this group">disable all</button></div><div class="rows"></div>';
    el.querySelector(".gname").textContent = label;
    return { el, rowsEl: el.querySelector(".rows"), sumEl: el.querySelector(".gsum"), html: null };
  }

  function paint(row, name, v) {
    const sel = S.selected === name, picked = S.picked.has(name), pinned = S.pins.has(name);
    if (row._v === v && row._sel === sel && row._picked === picked && row._pinned === pinned && row.dataset.resource === name) return;
    if (row.dataset.resource !== name) { row.dataset.resource = name; row._name.textContent = name; }
    row._v = v; row._sel = sel; row._picked = picked; row._pinned = pinned;
    const bucket = Filter.bucketOf(v);
    row.className = `row s-${v.update_status} b-${bucket}` + (sel ? " selected" : "");
    row.setAttribute("aria-selected", sel ? "true" : "false");
    row.dataset.status = v.update_status;
    row.dataset.bucket = bucket;
    row.dataset.runtime = v.runtime_status;
    row._pick.checked = picked;
    row._pend.textContent = v.pending.length ? "● pending" : "";
    row._pend.title = v.pending.join("\n");
    row._pin.textContent = pinned ? "★" : "☆";
    const sub = row._sub;
    const fail = v.excerpt && v.excerpt.length;
    sub.className = "sub" + (v.hold_text ? " hold" : "") + (fail ? " fail" : "");
    sub.textContent = subText(v);
    sub.title = fail ? v.excerpt.join("\n") : "";
  }

  // The first group whose bottom is below y (binary search: groups are in layout order).
  function firstGroupBelow(y) {
    let lo = 0, hi = S.layout.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const g = S.layout[mid];
      if (g.top + g.height <= y) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  // Where the list starts inside the scrolling sidebar (the filter and the fixed rows are above it).
  const base = () => host.offsetTop;

  function draw() {
    pending = false;
    host.style.height = `${S.listHeight}px`;
    const top = scroller.scrollTop - base();
    const y0 = top - OVERSCAN, y1 = top + scroller.clientHeight + OVERSCAN;
    const want = new Map();   // name -> [group, index]
    const groups = new Set();
    for (let gi = firstGroupBelow(Math.max(0, y0)); gi < S.layout.length && S.layout[gi].top < y1; gi++) {
      const g = S.layout[gi];
      groups.add(g);
      if (g.collapsed) continue;
      const from = Math.max(0, Math.floor((y0 - g.top - RES_HEAD_H) / RES_ROW_H));
      const to = Math.min(g.names.length, Math.ceil((y1 - g.top - RES_HEAD_H) / RES_ROW_H));
      for (let i = from; i < to; i++) want.set(g.names[i], [g, i]);
    }
    const focused = document.activeElement && host.contains(document.activeElement) ? document.activeElement.closest(".row") : null;
    for (const name of [S.selected, focused && focused.dataset.resource]) {
      const p = name != null && posOf(name);
      if (!p || want.has(name)) continue;
      const g = S.layout[p.g];
      if (g.collapsed) continue;
      groups.add(g); want.set(name, [g, p.i]);
    }
    for (const [name, row] of rowEls) {
      if (want.has(name)) continue;
      rowEls.delete(name); row.remove(); spare.push(row);
    }
    for (const [label, ge] of groupEls) {
      if ([...groups].some((g) => g.label === label)) continue;
      groupEls.delete(label); ge.el.remove();
    }
    // DOM order follows the list's order (Tab and a screen reader's reading order), whatever the scrolling added.
    let prevGroup = null;
    for (const g of [...groups].sort((a, b) => a.top - b.top)) {
      let ge = groupEls.get(g.label);
      if (!ge) { ge = newGroup(g.label); groupEls.set(g.label, ge); }
      placeAfter(host, ge.el, prevGroup);
      prevGroup = ge.el;
      ge.el.style.top = `${g.top}px`;
      ge.el.style.height = `${g.height}px`;
      ge.el.classList.toggle("collapsed", g.collapsed);
      if (ge.html !== g.html) { ge.html = g.html; ge.sumEl.innerHTML = g.html; }
    }
    let prev = null, prevInto = null;
    for (const [name, [g, i]] of [...want].sort((a, b) => a[1][0].start + a[1][1] - (b[1][0].start + b[1][1]))) {
      let row = rowEls.get(name);
      if (!row) { row = spare.pop() || newRow(); rowEls.set(name, row); }
      paint(row, name, S.views.get(name));
      row.style.top = `${RES_HEAD_H + i * RES_ROW_H}px`;
      row.setAttribute("aria-posinset", String(g.start + i + 1));
      row.setAttribute("aria-setsize", String(S.listCount));
      const into = groupEls.get(g.label).rowsEl;
      placeAfter(into, row, into === prevInto ? prev : null);
      prev = row; prevInto = into;
    }
  }

  // Put el right after `after` (first when null) in parent, unless it is there already; focus survives the move.
  function placeAfter(parent, el, after) {
    const next = after ? after.nextSibling : parent.firstChild;
    if (el === next) return;
    const hadFocus = el.contains(document.activeElement);
    const active = document.activeElement;
    parent.insertBefore(el, next);
    if (hadFocus && active instanceof HTMLElement) active.focus({ preventScroll: true });
  }

  function schedule() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(draw);
  }

  // Scroll the sidebar (as little as needed) so that the resource's row is in view, and draw it now.
  function reveal(name) {
    const p = posOf(name);
    S.revealPending = p ? null : name;
    if (!p) return null;
    const g = S.layout[p.g];
    if (g.collapsed) { S.collapsed.delete(g.label); S.revealPending = name; relayout(); return null; }  // once laid out
    const y = base() + g.top + RES_HEAD_H + p.i * RES_ROW_H;
    // The sticky group header covers the top RES_HEAD_H px of the view.
    if (y - RES_HEAD_H < scroller.scrollTop) scroller.scrollTop = y - RES_HEAD_H;
    else if (y + RES_ROW_H > scroller.scrollTop + scroller.clientHeight) scroller.scrollTop = y + RES_ROW_H - scroller.clientHeight;
    draw();
    return rowEls.get(name) || null;
  }

  function rowOf(e) {
    const row = e.target.closest(".row");
    return row && host.contains(row) ? row : null;
  }

  host.addEventListener("click", (e) => {
    const head = e.target.closest(".ghead");
    if (head) {
      const label = head.parentNode.dataset.group;
      const b = e.target.closest("button.gbulk");
      if (b) groupBulk(label, b.dataset.on === "true"); else toggleCollapsed(label);
      return;
    }
    const row = rowOf(e);
    if (!row) return;
    const name = row.dataset.resource;
    if (e.target.closest(".trig")) trigger(name);
    else if (e.target.closest(".pin")) togglePin(name);
    else if (!e.target.closest("button, input")) select(name);
  });
  host.addEventListener("change", (e) => {
    const row = rowOf(e);
    if (row && e.target.classList.contains("pick")) { setPicked(row.dataset.resource, e.target.checked); row._picked = e.target.checked; }
  });
  host.addEventListener("keydown", (e) => {
    const row = rowOf(e);
    if (!row || e.target !== row || e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); select(row.dataset.resource); }
    // The listbox's own keys: the arrows move like j/k (and do not scroll the sidebar by themselves).
    else if (e.key === "ArrowDown" || e.key === "ArrowUp") { e.preventDefault(); move(e.key === "ArrowDown" ? 1 : -1); }
  });
  scroller.addEventListener("scroll", schedule, { passive: true });
  window.addEventListener("resize", schedule);

  function repaint(name) {
    const row = rowEls.get(name), v = S.views.get(name);
    if (row && v) paint(row, name, v);
  }

  return { draw, schedule, reveal, repaint, element: (name) => rowEls.get(name) || null, rendered: () => rowEls.size };
})();
