// Logs: a book of buffers (the combined stream, and each opened resource's own
// history fetched on demand and paged backwards from the server) and one
// virtualised pane that shows one buffer through the filters. Only the visible
// rows exist in the DOM; wrapped rows get their height from the text length
// (the font is monospaced), corrected by measurement when a row overflows.
"use strict";

const ROW_H = 18;
const CAP = 50000;           // lines kept for the combined stream (older ones: scroll back, from the server)
const RES_CAP = 50000;       // lines kept per opened resource
const OPEN_MAX = 30;         // resources whose buffers are kept (least recently opened dropped)
const PAGE = 500;

function pad(n, w) { return String(n).padStart(w, "0"); }
function fmtTime(at) {
  const d = new Date(at * 1000);
  return `${pad(d.getHours(), 2)}:${pad(d.getMinutes(), 2)}:${pad(d.getSeconds(), 2)}.${pad(d.getMilliseconds(), 3)}`;
}

function trimFront(arr, cap) {
  // In chunks: a shift per line would be quadratic.
  if (arr.length > cap * 1.1) { const drop = arr.length - cap; arr.splice(0, drop); return drop; }
  return 0;
}

class LogBook {
  constructor() { this.reset(); }

  reset() {
    this.all = { key: "", lines: [], complete: false, loading: false, resource: null };
    this.per = new Map();
  }

  // Live lines from the stream: into the combined buffer and every opened resource's.
  addLive(lines) {
    for (const l of lines) {
      this.all.lines.push(l);
      const e = this.per.get(l.resource);
      if (!e) continue;
      if (e.loading) e.early.push(l);
      else if (!e.lines.length || l.seq > e.lines[e.lines.length - 1].seq) e.lines.push(l);
    }
    trimFront(this.all.lines, CAP);
    for (const e of this.per.values()) if (trimFront(e.lines, RES_CAP)) e.complete = false;
  }

  // The buffer of one resource: its last lines fetched once, then kept live.
  open(name, onReady) {
    let e = this.per.get(name);
    if (e) { this.per.delete(name); this.per.set(name, e); return e; }
    e = { key: name, resource: name, lines: [], early: [], complete: false, loading: true };
    this.per.set(name, e);
    while (this.per.size > OPEN_MAX) this.per.delete(this.per.keys().next().value);
    Api.get(`/api/logs?resources=${encodeURIComponent(name)}&tail=${PAGE}`, `loading ${name}'s logs`).then((data) => {
      e.loading = false;
      if (data) {
        e.lines = data.lines;
        e.complete = data.lines.length < PAGE;
      }
      const last = e.lines.length ? e.lines[e.lines.length - 1].seq : 0;
      for (const l of e.early) if (l.seq > last) e.lines.push(l);
      e.early = [];
      onReady(e);
    });
    return e;
  }

  // Scroll-back: the page of lines before the oldest one held.
  async older(e) {
    if (e.complete || e.loading || !e.lines.length) return 0;
    e.loading = true;
    const q = new URLSearchParams({ before: String(e.lines[0].seq), limit: String(PAGE) });
    if (e.resource) q.set("resources", e.resource);
    const data = await Api.get(`/api/logs?${q}`, "loading older lines");
    e.loading = false;
    if (!data) return 0;
    if (data.complete) e.complete = true;
    const first = e.lines[0].seq;
    const add = data.lines.filter((l) => l.seq < first);
    e.lines.unshift(...add);
    return add.length;
  }
}

class LogPane {
  constructor(el, countEl, moreEl) {
    this.el = el; this.countEl = countEl; this.moreEl = moreEl;
    this.spacer = el.querySelector(".spacer");
    this.rowsEl = el.querySelector(".rows");
    this.src = { key: "", lines: [], complete: true };
    this.view = []; this.tops = [0];
    this.filter = { resource: null, text: "", regex: false, level: "all", stream: "all", source: "all" };
    this.re = null;
    this.wrap = true;
    this.follow = true;
    this.clearAt = new Map();   // buffer key -> seq: "clear" hides what came before, in that view only
    this.pending = false;
    this.live = new Map();      // line -> its row element, for the lines in view
    this.free = [];             // row elements not in use
    this.cols = 0;
    this.onFollowChange = () => {}; this.onNeedOlder = () => {};
    el.addEventListener("scroll", () => {
      const atBottom = el.scrollTop + el.clientHeight >= el.scrollHeight - ROW_H;
      if (atBottom !== this.follow) { this.follow = atBottom; this.onFollowChange(atBottom); }
      if (el.scrollTop < ROW_H * 5 && !this.src.complete && this.view.length) this.onNeedOlder(this.src);
      this.schedule();
    });
    window.addEventListener("resize", () => { this.cols = 0; this.relayout(); });
  }

  charWidth() {
    if (!this.cw) {
      const probe = document.createElement("span");
      probe.className = "ln"; probe.style.cssText = "position:absolute;visibility:hidden;white-space:pre";
      probe.textContent = "0".repeat(100);
      this.el.appendChild(probe);
      this.cw = probe.getBoundingClientRect().width / 100 || 7.2;
      probe.remove();
    }
    return this.cw;
  }

  textCols() {
    if (!this.cols) {
      const prefix = 13 + 8 + (this.src.resource ? 0 : 21); // time, stream tag, resource name (combined view)
      this.cols = Math.max(20, Math.floor((this.el.clientWidth - 24) / this.charWidth()) - prefix);
    }
    return this.cols;
  }

  plainOf(l) {
    if (l._p === undefined) l._p = Ansi.plain(l.text).replace(/\t/g, "        ");
    return l._p;
  }

  heightOf(l) {
    // lockstep's own lines always wrap: they are never cut off.
    const wrap = this.wrap || l.source === "system";
    const key = wrap ? this.textCols() : -1;
    if (l._hk === key) return l._h;
    let h = 0;
    if (!wrap) h = 1;
    else for (const seg of this.plainOf(l).split("\n")) h += Math.max(1, Math.ceil(seg.length / key));
    l._hk = key; l._h = h;
    return h;
  }

  matches(l) {
    const f = this.filter;
    const cp = this.clearAt.get(this.src.key);
    if (cp !== undefined && l.seq <= cp) return false;
    if (f.source !== "all" && l.source !== f.source) return false;
    if (f.stream !== "all" && l.stream !== f.stream) return false;
    if (f.level === "error" && l.level !== "error") return false;
    if (f.level === "warn" && l.level === "info") return false;
    if (f.text) {
      if (this.re) return this.re.test(this.plainOf(l));
      return this.plainOf(l).toLowerCase().includes(f.text);
    }
    return true;
  }

  show(src) {
    if (src !== this.src) { this.src = src; this.cols = 0; this.follow = true; }
    this.refilter();
  }

  setFilter(patch) {
    Object.assign(this.filter, patch);
    this.re = null;
    if (this.filter.regex && this.filter.text) {
      try { this.re = new RegExp(this.filter.text, "i"); } catch (e) { this.re = /$^/; }
    } else this.filter.text = (this.filter.text || "").toLowerCase();
    this.follow = true;
    this.refilter();
  }

  setWrap(on) { this.wrap = on; this.relayout(); }

  refilter() {
    this.view = this.src.lines.filter((l) => this.matches(l));
    this.relayout();
  }

  relayout() {
    const tops = new Array(this.view.length + 1);
    let y = 0;
    for (let i = 0; i < this.view.length; i++) { tops[i] = y; y += this.heightOf(this.view[i]); }
    tops[this.view.length] = y;
    this.tops = tops;
    this.schedule();
  }

  // New lines were pushed onto the shown buffer (or it was trimmed at the front).
  appended() {
    const lines = this.src.lines;
    const lastSeq = this.view.length ? this.view[this.view.length - 1].seq : -Infinity;
    if (this.view.length && lines.length && lines[0].seq > this.view[0].seq) { this.refilter(); return; }
    let i = lines.length;
    while (i > 0 && lines[i - 1].seq > lastSeq) i--;
    let y = this.tops[this.view.length];
    for (; i < lines.length; i++) {
      const l = lines[i];
      if (!this.matches(l)) continue;
      this.view.push(l);
      y += this.heightOf(l);
      this.tops.push(y);
    }
    this.schedule();
  }

  // Older lines were put in front of the shown buffer: keep what the user looks at in place.
  prepended() {
    const before = this.tops[this.view.length];
    const top = this.el.scrollTop;
    this.refilter();
    this.render();
    this.el.scrollTop = top + (this.tops[this.view.length] - before) * ROW_H;
  }

  clear() {
    const lines = this.src.lines;
    this.clearAt.set(this.src.key, lines.length ? lines[lines.length - 1].seq : 0);
    this.refilter();
  }

  text(limit = 50000) {
    return this.view.slice(-limit).map((l) => `${fmtTime(l.at)} ${l.resource} ${this.plainOf(l)}`).join("\n");
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => { this.pending = false; this.render(); });
  }

  firstVisible(row) {
    let lo = 0, hi = this.view.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (this.tops[mid + 1] <= row) lo = mid + 1; else hi = mid; }
    return lo;
  }

  // Rows are keyed by line: a line that stays in view keeps its element (only its position
  // changes), so following a chatty log renders one new row per line, not the whole pane.
  render() {
    const el = this.el, n = this.view.length;
    const total = this.tops[n];
    this.spacer.style.height = `${total * ROW_H}px`;
    if (this.follow) el.scrollTop = el.scrollHeight;
    const first = Math.max(0, this.firstVisible(Math.floor(el.scrollTop / ROW_H)) - 2);
    const lastRow = (el.scrollTop + el.clientHeight) / ROW_H;
    let end = first;
    while (end < n && this.tops[end] <= lastRow + 2) end++;
    end = Math.min(n, end + 2);
    const want = new Map();
    for (let i = first; i < end; i++) want.set(this.view[i], i);
    for (const [line, d] of this.live) {
      if (!want.has(line)) { d.style.display = "none"; this.free.push(d); this.live.delete(line); }
    }
    this.rowsEl.classList.toggle("one", Boolean(this.src.resource));
    const fresh = [];
    for (const [l, idx] of want) {
      let d = this.live.get(l);
      if (!d) {
        d = this.free.pop();
        if (!d) {
          d = document.createElement("div");
          d.innerHTML = '<span class="ts"></span><span class="rn"></span><span class="src"></span><span class="tx"></span>';
          this.rowsEl.appendChild(d);
        }
        this.live.set(l, d);
        d.style.display = "";
        d.dataset.seq = l.seq;
        d.children[0].textContent = fmtTime(l.at);
        d.children[1].textContent = l.resource;
        d.children[1].title = l.resource;
        d.children[2].textContent = l.source === "build" ? "build" : l.source === "runtime" ? "run" : "sys";
        d.children[2].title = `${l.source}${l.stream && l.stream !== "none" ? ", std" + l.stream : ""}`;
        Ansi.render(d.children[3], l.text);
        d._key = "";
      }
      const wrapped = this.wrap || l.source === "system";
      const h = this.heightOf(l);
      const key = `${wrapped}|${h}|${this.tops[idx]}`;
      if (d._key !== key) {
        d._key = key;
        d.className = `ln ${l.level}` + (wrapped ? " wrap" : "") + (l.stream === "err" ? " stderr" : "");
        d.style.height = `${h * ROW_H}px`;
        d.style.transform = `translateY(${this.tops[idx] * ROW_H}px)`;
        // Only text the estimate cannot be sure of (wide glyphs) is measured: no forced layout otherwise.
        if (wrapped && !/^[\x20-\x7e\n]*$/.test(this.plainOf(l))) fresh.push([idx, d]);
      }
    }
    const fixes = [];
    for (const [idx, d] of fresh) {
      if (d.children[3].scrollHeight > d.clientHeight + 2) fixes.push([idx, Math.ceil(d.children[3].scrollHeight / ROW_H)]);
    }
    if (fixes.length) {
      // The estimate was short: take the measured height and lay out again.
      for (const [idx, h] of fixes) this.view[idx]._h = h;
      this.relayout();
    }
    this.countEl.textContent = `${n.toLocaleString()} lines`;
    const cp = this.clearAt.get(this.src.key);
    this.moreEl.textContent = this.src.loading ? "loading…" : cp !== undefined ? "(cleared: older lines hidden in this view)"
      : this.src.complete ? "" : "scroll up for older lines";
  }
}

window.LogBook = LogBook;
window.LogPane = LogPane;
window.fmtTime = fmtTime;
