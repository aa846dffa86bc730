/**
 * The status page (`GET /ui`, and `GET /` from a browser): one self-contained HTML document
 * that polls `GET /v1/cluster` on the same node and draws members, offsets, lag and the
 * produce/consume rates. No build step and nothing from elsewhere: the CSS and the script are
 * inline and allowed by their SHA-256 in the Content-Security-Policy, everything else is
 * refused. The page holds no cluster data itself and never asks for records.
 * @module
 */
import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";

const style = `
:root { color-scheme: light dark; --ok: #1a7f37; --bad: #c62828; --produce: #1f6feb;
  --consume: #d97706; --muted: #6b7280; --line: #d0d7de; }
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; max-width: 72rem; }
h1 { font-size: 1.3rem; margin: 0 0 .5rem; }
#status { font-weight: 600; }
#status.ok { color: var(--ok); } #status.bad { color: var(--bad); }
.stale { opacity: .55; }
dl { display: flex; flex-wrap: wrap; gap: .25rem 2rem; margin: .75rem 0; }
dt { color: var(--muted); } dd { margin: 0 0 0 .4rem; font-weight: 600; }
dl div { display: flex; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: .3rem .6rem; border-bottom: 1px solid var(--line); text-align: right; }
th:nth-child(-n+4), td:nth-child(-n+4) { text-align: left; }
td:nth-child(n+5) { white-space: nowrap; }
tr.leader td:first-child { font-weight: 700; }
tr.leader td:first-child::after { content: " \\2605"; color: var(--produce); }
tr.down { color: var(--bad); }
caption { text-align: left; font-weight: 600; margin: 1rem 0 .3rem; }
svg { width: 100%; height: auto; border: 1px solid var(--line); margin-top: .3rem; }
svg text { font-size: 11px; fill: var(--muted); }
.legend span { margin-right: 1.5rem; }
.legend .p { color: var(--produce); } .legend .c { color: var(--consume); }
`;

const script = `
"use strict";
const param = Number(new URLSearchParams(location.search).get("everyMs"));
const everyMs = param >= 250 && param <= 10000 ? param : 1000;
const windowMs = 5 * 60 * 1000;
const samplesMax = Math.ceil(windowMs / 250) + 2;
const W = 600, H = 160;
const rates = [];
let previous = null;
let lastOk = null;
let failingSince = null;
const $ = (id) => document.getElementById(id);
const num = (v) => typeof v === "number" && Number.isFinite(v) ? String(v) : "\\u2013";
const clock = (ms) => new Date(ms).toLocaleTimeString();

function bytes(v) {
  if (typeof v !== "number" || !Number.isFinite(v)) return "\\u2013";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return (i === 0 ? String(v) : v.toFixed(1)) + " " + units[i];
}

function renderSummary(view, nodes) {
  const leader = view.leader;
  $("leader").textContent = leader ? leader.name + " (" + leader.rpcAddr + ")" : "none";
  $("term").textContent = num(view.term);
  const lead = leader ? nodes.find((n) => n.name === leader.name && n.reachable) : undefined;
  const commits = nodes.filter((n) => n.reachable).map((n) => n.commitIndex);
  $("commit").textContent = num(lead ? lead.commitIndex : Math.max(...commits.filter(Number.isFinite)));
  $("members").textContent = nodes.filter((n) => n.reachable).length + " of " + nodes.length + " reachable";
}

function renderNodes(view, nodes) {
  const body = document.createElement("tbody");
  body.id = "nodes";
  for (const n of nodes) {
    const row = body.insertRow();
    row.dataset.node = String(n.name);
    if (view.leader && n.name === view.leader.name) row.classList.add("leader");
    if (!n.reachable) row.classList.add("down");
    const log = n.log || {};
    const cells = [
      ["name", String(n.name)], ["role", String(n.role)], ["suffrage", String(n.suffrage)],
      ["reachable", n.reachable ? "yes" : "no" + (n.error ? ": " + String(n.error) : "")],
      ["term", num(n.term)], ["commit", num(n.commitIndex)], ["applied", num(n.appliedIndex)],
      ["first", num(log.firstOffset)], ["next", num(log.nextOffset)], ["size", bytes(log.bytes)],
      ["lag", num(n.lag)],
    ];
    for (const [col, text] of cells) {
      const cell = row.insertCell();
      cell.dataset.col = col;
      cell.textContent = text;
    }
  }
  $("nodes").replaceWith(body);
}

function sample(view, nodes) {
  const at = Date.parse(view.time);
  const counters = new Map();
  for (const n of nodes) {
    const c = n.counters;
    if (!n.reachable || !c) continue;
    if (Number.isFinite(c.recordsProduced) && Number.isFinite(c.recordsConsumed)) {
      counters.set(String(n.name), [c.recordsProduced, c.recordsConsumed]);
    }
  }
  const prev = previous;
  previous = Number.isFinite(at) ? { at, counters } : null;
  if (!prev || !previous || at <= prev.at) return;
  let produced = 0, consumed = 0;
  for (const [name, [p, c]] of counters) {
    const before = prev.counters.get(name);
    if (!before) continue;
    // A restarted node counts from zero again: its new count is the delta.
    produced += p >= before[0] ? p - before[0] : p;
    consumed += c >= before[1] ? c - before[1] : c;
  }
  const seconds = (at - prev.at) / 1000;
  rates.push({ at, produced: produced / seconds, consumed: consumed / seconds });
  while (rates.length > samplesMax || (rates.length && rates[0].at < at - windowMs)) rates.shift();
}

function niceMax(v) {
  if (!(v > 1)) return 1;
  const step = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) if (v <= m * step) return m * step;
  return 10 * step;
}

function renderPlot() {
  const last = rates[rates.length - 1];
  const end = last ? last.at : Date.now();
  const top = niceMax(Math.max(0, ...rates.map((r) => Math.max(r.produced, r.consumed))));
  const x = (at) => ((at - (end - windowMs)) / windowMs * W).toFixed(1);
  const y = (v) => (H - (v / top) * (H - 12)).toFixed(1);
  for (const key of ["produced", "consumed"]) {
    const line = $(key);
    line.setAttribute("points", rates.map((r) => x(r.at) + "," + y(r[key])).join(" "));
    line.dataset.count = String(rates.length);
  }
  $("ymax").textContent = top + " rec/s";
  $("now-produced").textContent = last ? last.produced.toFixed(1) : "\\u2013";
  $("now-consumed").textContent = last ? last.consumed.toFixed(1) : "\\u2013";
}

function setStatus(ok, text) {
  const status = $("status");
  status.className = ok ? "ok" : "bad";
  status.textContent = text;
  $("view").classList.toggle("stale", !ok);
}

async function poll() {
  try {
    const response = await fetch("/v1/cluster", {
      headers: { accept: "application/json" }, cache: "no-store",
      signal: AbortSignal.timeout(Math.max(3000, 2 * everyMs)),
    });
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      const why = body && body.error ? body.error.message : "";
      throw new Error("HTTP " + response.status + (why ? ": " + why : ""));
    }
    if (!body || !Array.isArray(body.nodes)) throw new Error("the answer is not a cluster view");
    const nodes = body.nodes.filter((n) => n && typeof n === "object");
    renderSummary(body, nodes);
    renderNodes(body, nodes);
    sample(body, nodes);
    renderPlot();
    lastOk = Date.now();
    failingSince = null;
    setStatus(true, "Updated " + clock(lastOk));
  } catch (error) {
    failingSince = failingSince || Date.now();
    const seen = lastOk ? "; last update " + clock(lastOk) : "";
    setStatus(false, "Unreachable since " + clock(failingSince) + " (" +
      (error && error.message ? error.message : String(error)) + ")" + seen + "; retrying");
  }
  setTimeout(poll, everyMs);
}
renderPlot();
poll();
`;

const sha256 = (text: string) => `'sha256-${createHash("sha256").update(text).digest("base64")}'`;

/**
 * The page's Content-Security-Policy: nothing but its own inline style and script (by hash)
 * and requests to its own origin; no frames, no forms, no plugins, DOM sinks typed.
 */
export const uiContentSecurityPolicy = [
  "default-src 'none'",
  `script-src ${sha256(script)}`,
  `style-src ${sha256(style)}`,
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
].join("; ");

/** The page itself. */
export const uiPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Strand cluster</title>
<style>${style}</style>
</head>
<body>
<h1>Strand cluster</h1>
<p>Status: <span id="status">Loading\u2026</span></p>
<main id="view">
<dl>
<div><dt>Leader</dt><dd id="leader">\u2013</dd></div>
<div><dt>Term</dt><dd id="term">\u2013</dd></div>
<div><dt>Commit index</dt><dd id="commit">\u2013</dd></div>
<div><dt>Members</dt><dd id="members">\u2013</dd></div>
</dl>
<table>
<caption>Members</caption>
<thead><tr><th>Node</th><th>Role</th><th>Suffrage</th><th>Reachable</th><th>Term</th>
<th>Commit</th><th>Applied</th><th>First offset</th><th>Next offset</th><th>Size</th>
<th>Lag</th></tr></thead>
<tbody id="nodes"></tbody>
</table>
<p class="legend"><strong>Records per second, last 5 minutes:</strong>
<span class="p">\u25a0 produced <b id="now-produced">\u2013</b></span>
<span class="c">\u25a0 consumed <b id="now-consumed">\u2013</b></span></p>
<svg id="plot" viewBox="0 0 600 160" role="img" aria-label="Produce and consume rates">
<line x1="0" y1="160" x2="600" y2="160" stroke="currentColor" stroke-opacity=".3"/>
<line x1="0" y1="12" x2="600" y2="12" stroke="currentColor" stroke-opacity=".15"/>
<text x="4" y="10" id="ymax">1 rec/s</text>
<text x="4" y="156">\u22125 min</text>
<text x="596" y="156" text-anchor="end">now</text>
<polyline id="produced" fill="none" stroke="#1f6feb" stroke-width="2" points=""/>
<polyline id="consumed" fill="none" stroke="#d97706" stroke-width="2" points=""/>
</svg>
</main>
<script>${script}</script>
</body>
</html>
`;

const pageBytes = new TextEncoder().encode(uiPage);

/**
 * Whether `GET /` should get the page: a browser's navigation asks for `text/html` and sends
 * no body, while the book's JSON clients send a body (`{"offset": N}`), so those never get it.
 */
export function wantsUiPage(request: IncomingMessage): boolean {
  const accept = request.headers.accept ?? "";
  const hasBody = request.headers["transfer-encoding"] !== undefined ||
    (request.headers["content-length"] !== undefined &&
      request.headers["content-length"] !== "0");
  return !hasBody && /(^|,)\s*text\/html\s*(;|,|$)/i.test(accept);
}

/** Sends the page with its security headers. */
export function sendUiPage(response: ServerResponse): void {
  response.writeHead(200, {
    "content-type": "text/html; charset=utf-8",
    "content-length": pageBytes.byteLength,
    "content-security-policy": uiContentSecurityPolicy,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
  });
  response.end(pageBytes);
}
