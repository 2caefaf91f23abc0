// Talking to the server: the page's only credential handling, and every action's
// failure reported in a toast (a stopped `up` must not fail silently).
"use strict";

const $ = (id) => document.getElementById(id);

const Api = (() => {
  // The one place the page learns its credential. When the server moves to a
  // session cookie, same-origin fetch and WebSocket carry it without help and
  // this helper is all that changes.
  const meta = document.querySelector('meta[name="lockstep-token"]');
  const token = meta && !meta.content.startsWith("{{") ? meta.content : "";
  const headers = (extra) => (token ? { ...extra, "X-Lockstep-Token": token } : { ...extra });

  function toast(msg, kind = "error") {
    const t = document.getElementById("toast");
    t.textContent = msg; t.className = kind; t.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { t.hidden = true; }, 5000);
  }

  async function request(method, path, body, what) {
    let res;
    try {
      res = await fetch(path, {
        method, headers: headers(body === undefined ? {} : { "Content-Type": "application/json" }),
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      toast(`${what} failed: lockstep is not reachable (is \`lockstep up\` still running?)`);
      return null;
    }
    const data = await res.json().catch(() => ({}));
    if (!res.ok) { toast(`${what} failed: ${data.error || `${res.status} ${res.statusText}`}`); return null; }
    return data;
  }

  return {
    toast,
    get: (path, what = "loading") => request("GET", path, undefined, what),
    post: (path, body, what = "action") => request("POST", path, body, what),
    streamUrl(params) {
      const q = new URLSearchParams(params);
      if (token) q.set("token", token);
      const proto = location.protocol === "https:" ? "wss" : "ws";
      return `${proto}://${location.host}/api/stream?${q}`;
    },
  };
})();

window.Api = Api;
