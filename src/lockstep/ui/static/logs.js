// Virtualised log pane: only the visible rows exist in the DOM, and the page
// keeps at most CAP lines (older ones stay on disk, readable with `lockstep logs`),
// so memory and frame time stay flat at a million lines.
"use strict";

const ROW_H = 18;
const CAP = 200000;

function pad(n, w) { return String(n).padStart(w, "0"); }
function fmtTime(at) {
  const d = new Date(at * 1000);
  return `${pad(d.getHours(), 2)}:${pad(d.getMinutes(), 2)}:${pad(d.getSeconds(), 2)}.${pad(d.getMilliseconds(), 3)}`;
}

class LogPane {
  constructor(el, countEl) {
    this.el = el;
    this.countEl = countEl;
    this.spacer = el.querySelector(".spacer");
    this.rowsEl = el.querySelector(".rows");
    this.lines = [];   // every kept line, oldest first
    this.view = [];    // the lines passing the filters
    this.filter = { resource: null, text: "", regex: false, level: "all", source: "all" };
    this.re = null;
    this.follow = true;
    this.dropped = 0;
    this.pending = false;
    this.pool = [];
    this.onFollowChange = () => {};
    el.addEventListener("scroll", () => {
      const atBottom = el.scrollTop + el.clientHeight >= el.scrollHeight - ROW_H;
      if (atBottom !== this.follow) { this.follow = atBottom; this.onFollowChange(atBottom); }
      this.schedule();
    });
    window.addEventListener("resize", () => this.schedule());
  }

  matches(l) {
    const f = this.filter;
    if (f.resource !== null && l.resource !== f.resource) return false;
    if (f.source !== "all" && l.source !== f.source) return false;
    if (f.level === "error" && l.level !== "error") return false;
    if (f.level === "warn" && l.level === "info") return false;
    if (f.text) {
      if (this.re) return this.re.test(l.text);
      return l.text.toLowerCase().includes(f.text);
    }
    return true;
  }

  setFilter(patch) {
    Object.assign(this.filter, patch);
    this.re = null;
    if (this.filter.regex && this.filter.text) {
      try { this.re = new RegExp(this.filter.text, "i"); } catch (e) { this.re = /$^/; }
    } else {
      this.filter.text = (this.filter.text || "").toLowerCase();
    }
    this.view = this.lines.filter((l) => this.matches(l));
    this.follow = true;
    this.schedule();
  }

  add(lines) {
    for (const l of lines) {
      this.lines.push(l);
      if (this.matches(l)) this.view.push(l);
    }
    // Trim in chunks (a splice per line would be quadratic).
    if (this.lines.length > CAP * 1.1) {
      const drop = this.lines.length - CAP;
      const firstKept = this.lines[drop].seq;
      this.lines.splice(0, drop);
      this.dropped += drop;
      let i = 0;
      while (i < this.view.length && this.view[i].seq < firstKept) i++;
      if (i) this.view.splice(0, i);
    }
    this.schedule();
  }

  clear() { this.lines = []; this.view = []; this.dropped = 0; this.schedule(); }

  text(limit = 50000) {
    return this.view.slice(-limit).map((l) => `${fmtTime(l.at)} ${l.resource} ${l.text}`).join("\n");
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => { this.pending = false; this.render(); });
  }

  render() {
    const el = this.el, n = this.view.length;
    this.spacer.style.height = `${n * ROW_H}px`;
    if (this.follow) el.scrollTop = el.scrollHeight;
    const first = Math.max(0, Math.floor(el.scrollTop / ROW_H) - 2);
    const count = Math.min(n - first, Math.ceil(el.clientHeight / ROW_H) + 4);
    while (this.pool.length < count) {
      const d = document.createElement("div");
      d.innerHTML = '<span class="ts"></span> <span class="rn"></span> <span class="src"></span> <span class="tx"></span>';
      this.rowsEl.appendChild(d);
      this.pool.push(d);
    }
    this.rowsEl.style.transform = `translateY(${first * ROW_H}px)`;
    for (let i = 0; i < this.pool.length; i++) {
      const d = this.pool[i];
      if (i >= count) { d.style.display = "none"; continue; }
      const l = this.view[first + i];
      d.style.display = "";
      d.className = `ln ${l.level}`;
      d.dataset.seq = l.seq;
      d.children[0].textContent = fmtTime(l.at);
      d.children[1].textContent = l.resource;
      d.children[2].textContent = l.source === "build" ? "[build]" : l.source === "runtime" ? "[run]" : "[sys]";
      d.children[3].textContent = l.text;
    }
    this.countEl.textContent = `${n.toLocaleString()} lines` + (this.dropped ? ` (${this.dropped.toLocaleString()} older dropped from view)` : "");
  }
}

window.LogPane = LogPane;
window.fmtTime = fmtTime;
