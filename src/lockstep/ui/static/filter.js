// The resource filter: words match names; `status:X` and `label:Y` match status and labels.
// Status buckets are what the header counts and what `status:` accepts.
"use strict";

const BUCKETS = ["failed", "running", "pending", "held", "disabled", "ok"];

function bucketOf(v) {
  if (v.update_status === "disabled") return "disabled";
  if (v.update_status === "error" || v.runtime_status === "crashed") return "failed";
  if (v.update_status === "in_progress") return "running";
  if (v.update_status === "held") return "held";
  if (v.update_status === "pending") return "pending";
  if (v.runtime_status === "pending" || v.runtime_status === "starting" || v.runtime_status === "not-ready") return "pending";
  return "ok";
}

const STATUS_ALIASES = { error: "failed", err: "failed", fail: "failed", failing: "failed", busy: "running",
  updating: "running", in_progress: "running", waiting: "held", manual: "pending", off: "disabled", success: "ok" };

function parseFilter(q) {
  const f = { words: [], statuses: [], labels: [], pinned: false };
  for (const tok of (q || "").trim().toLowerCase().split(/\s+/).filter(Boolean)) {
    const m = /^(status|label|is):(.*)$/.exec(tok);
    if (m && m[1] === "status") f.statuses.push(...m[2].split(",").filter(Boolean).map((s) => STATUS_ALIASES[s] || s));
    else if (m && m[1] === "label") f.labels.push(...m[2].split(",").filter(Boolean));
    else if (m && m[1] === "is" && m[2] === "pinned") f.pinned = true;
    else f.words.push(tok);
  }
  f.empty = !f.words.length && !f.statuses.length && !f.labels.length && !f.pinned;
  return f;
}

function passes(f, v, pinned) {
  if (f.empty) return true;
  if (f.statuses.length && !f.statuses.includes(bucketOf(v))) return false;
  if (f.labels.length && !f.labels.some((l) => v.labels.some((x) => x.toLowerCase() === l))) return false;
  if (f.pinned && !pinned) return false;
  const name = v.name.toLowerCase();
  return f.words.every((w) => name.includes(w));
}

window.Filter = { BUCKETS, bucketOf, parseFilter, passes };
