// The page's place in the URL: #/r/NAME (or #/ for all, #/table, #/errors,
// #/timeline, #/graph) then ?q=&rq=&level=&stream=&src=&re=1&wrap=0.
// Selections and tabs push history (Back works); typing in filters replaces it.
"use strict";

const UrlState = (() => {
  const TABS = ["resources", "table", "errors", "timeline", "graph"];
  const PARAMS = ["q", "rq", "level", "stream", "src", "re", "wrap"];

  function parse(hash) {
    const h = (hash || "").replace(/^#/, "");
    const [path, query] = h.split("?", 2);
    const st = { tab: "resources", selected: null, params: {} };
    const parts = (path || "").split("/").filter(Boolean);
    if (parts[0] === "r" && parts.length > 1) st.selected = decodeURIComponent(parts.slice(1).join("/"));
    else if (TABS.includes(parts[0])) st.tab = parts[0];
    const q = new URLSearchParams(query || "");
    for (const k of PARAMS) if (q.has(k)) st.params[k] = q.get(k);
    return st;
  }

  function format(st) {
    const path = st.tab !== "resources" ? `/${st.tab}` : st.selected !== null ? `/r/${encodeURIComponent(st.selected)}` : "/";
    const q = new URLSearchParams();
    for (const k of PARAMS) if (st.params[k] !== undefined && st.params[k] !== "") q.set(k, st.params[k]);
    const qs = q.toString();
    return `#${path}${qs ? "?" + qs : ""}`;
  }

  function write(st, push) {
    const url = format(st);
    if (url === location.hash) return;
    if (push) history.pushState(null, "", url); else history.replaceState(null, "", url);
  }

  return { parse, format, write, TABS };
})();

window.UrlState = UrlState;
