// Readable lines: ANSI SGR colours rendered as spans, every other escape dropped,
// URLs made clickable. Text only ever enters the DOM as text nodes.
"use strict";

const Ansi = (() => {
  const ESC_RE = /\x1b\[([0-9;?]*)([ -/]*)([@-~])|\x1b[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]|[\x00-\x08\x0b-\x1f\x7f]/g;
  const URL_RE = /\bhttps?:\/\/[^\s<>"'`)\]]+[^\s<>"'`)\].,;:!?]/g;
  const BASIC = ["#4b5563", "#f87171", "#4ade80", "#facc15", "#60a5fa", "#e879f9", "#22d3ee", "#e5e7eb"];
  const BRIGHT = ["#9ca3af", "#fca5a5", "#86efac", "#fde047", "#93c5fd", "#f0abfc", "#67e8f9", "#ffffff"];

  function c256(n) {
    if (n < 8) return BASIC[n];
    if (n < 16) return BRIGHT[n - 8];
    if (n < 232) {
      const i = n - 16, v = [0, 95, 135, 175, 215, 255];
      return `rgb(${v[Math.floor(i / 36)]},${v[Math.floor(i / 6) % 6]},${v[i % 6]})`;
    }
    const g = 8 + (n - 232) * 10;
    return `rgb(${g},${g},${g})`;
  }

  function applySgr(st, params) {
    const p = params === "" ? [0] : params.split(";").map((x) => (x === "" ? 0 : Number(x)));
    for (let i = 0; i < p.length; i++) {
      const n = p[i];
      if (n === 0) { st.fg = st.bg = null; st.bold = st.dim = st.italic = st.under = false; }
      else if (n === 1) st.bold = true;
      else if (n === 2) st.dim = true;
      else if (n === 3) st.italic = true;
      else if (n === 4) st.under = true;
      else if (n === 22) st.bold = st.dim = false;
      else if (n === 23) st.italic = false;
      else if (n === 24) st.under = false;
      else if (n >= 30 && n <= 37) st.fg = BASIC[n - 30];
      else if (n >= 90 && n <= 97) st.fg = BRIGHT[n - 90];
      else if (n >= 40 && n <= 47) st.bg = BASIC[n - 40];
      else if (n >= 100 && n <= 107) st.bg = BRIGHT[n - 100];
      else if (n === 39) st.fg = null;
      else if (n === 49) st.bg = null;
      else if ((n === 38 || n === 48) && p[i + 1] === 5) { const c = c256(p[i + 2] | 0); if (n === 38) st.fg = c; else st.bg = c; i += 2; }
      else if ((n === 38 || n === 48) && p[i + 1] === 2) { const c = `rgb(${p[i + 2] | 0},${p[i + 3] | 0},${p[i + 4] | 0})`; if (n === 38) st.fg = c; else st.bg = c; i += 4; }
    }
  }

  // Text without escapes: what the user reads (used for search, copy and wrapping).
  function plain(text) {
    return text.indexOf("\x1b") < 0 && !/[\x00-\x08\x0b-\x1f\x7f]/.test(text) ? text : text.replace(ESC_RE, "");
  }

  function linkify(parent, text, style) {
    let last = 0, m;
    URL_RE.lastIndex = 0;
    const add = (node) => { if (style) { const s = document.createElement("span"); s.style.cssText = style; s.appendChild(node); parent.appendChild(s); } else parent.appendChild(node); };
    while ((m = URL_RE.exec(text))) {
      if (m.index > last) add(document.createTextNode(text.slice(last, m.index)));
      const a = document.createElement("a");
      a.href = m[0]; a.textContent = m[0]; a.target = "_blank"; a.rel = "noopener noreferrer";
      add(a);
      last = m.index + m[0].length;
    }
    if (last < text.length) add(document.createTextNode(text.slice(last)));
  }

  function css(st) {
    let s = "";
    if (st.fg) s += `color:${st.fg};`;
    if (st.bg) s += `background:${st.bg};`;
    if (st.bold) s += "font-weight:700;";
    if (st.dim) s += "opacity:.7;";
    if (st.italic) s += "font-style:italic;";
    if (st.under) s += "text-decoration:underline;";
    return s;
  }

  // Fills `el` with the rendered line.
  function render(el, text) {
    el.textContent = "";
    if (text.indexOf("\x1b") < 0 && text.indexOf("http") < 0) { el.textContent = plain(text); return; }
    const st = { fg: null, bg: null, bold: false, dim: false, italic: false, under: false };
    let last = 0, m;
    ESC_RE.lastIndex = 0;
    while ((m = ESC_RE.exec(text))) {
      if (m.index > last) linkify(el, text.slice(last, m.index), css(st));
      if (m[3] === "m" && m[2] === "" && m[0][1] === "[") applySgr(st, m[1]);
      last = ESC_RE.lastIndex;
    }
    if (last < text.length) linkify(el, text.slice(last), css(st));
  }

  return { render, plain };
})();

window.Ansi = Ansi;
