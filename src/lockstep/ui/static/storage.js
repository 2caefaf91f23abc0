// The red "logs are not being saved: disk full" banner: polls the small
// /api/health route, so a disk that fills or frees up shows within seconds.
"use strict";
(function () {
  const el = document.getElementById("storage-banner");
  async function poll() {
    try {
      const res = await fetch("/api/health", { cache: "no-store" });
      if (res.ok) {
        const problem = (await res.json()).storage_error;
        el.textContent = problem ? `${problem} — lockstep keeps running; it retries every second` : "";
        el.hidden = !problem;
      }
    } catch (e) { /* disconnected: the other banner says so */ }
    setTimeout(poll, 2000);
  }
  poll();
})();
