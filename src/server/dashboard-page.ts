/**
 * The dashboard's shell: one static HTML page, its stylesheet and its script, all served by memzip
 * (no CDN, no framework). The shell holds no data: the script asks for a key, keeps it in
 * sessionStorage and fetches GET /v1/dashboard and POST /v1/search with it. Everything
 * it renders from an answer goes through textContent / createElement, never innerHTML.
 */

/** Sent with the page: scripts and styles only from memzip itself, no inline code, no framing. */
export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>memzip dashboard</title>
<link rel="stylesheet" href="/dashboard/app.css">
<script src="/dashboard/app.js" defer></script>
</head>
<body>
<header>
  <h1>memzip</h1>
  <form id="key-form" autocomplete="off">
    <label for="key">API key</label>
    <input id="key" name="key" type="password" placeholder="mzk_…" spellcheck="false">
    <button id="key-use" type="submit">Open</button>
    <button id="key-forget" type="button">Forget key</button>
  </form>
  <label for="namespace" class="ns">Namespace</label>
  <select id="namespace" disabled><option value="">all of the key's</option></select>
</header>
<main>
  <p id="status" role="status">Enter a key from <code>memzip keys create --db DB --namespace NS --role read</code>. It stays in this tab only (sessionStorage).</p>
  <section id="empty" hidden>
    <h2>No memories yet</h2>
    <p>This store holds no memories in the key's namespaces. Add some:</p>
    <pre>memzip import memories.jsonl --db DB --namespace NS</pre>
    <p>or over HTTP with a write key:</p>
    <pre id="curl-example"></pre>
  </section>
  <div id="panels" hidden>
    <section id="sizes">
      <h2>Sizes</h2>
      <dl class="figures">
        <div><dt>Text</dt><dd id="total-text"></dd></div>
        <div><dt>Stored (envelopes + assets)</dt><dd id="total-stored"></dd></div>
        <div><dt>Ratio</dt><dd id="total-ratio"></dd></div>
        <div><dt>Bits per byte</dt><dd id="total-bpb"></dd></div>
        <div><dt>Memories</dt><dd id="total-memories"></dd></div>
        <div><dt>On disk (whole store)</dt><dd id="disk"></dd></div>
      </dl>
      <p class="note" id="sizes-note"></p>
      <table id="namespaces-table"><thead><tr><th>Namespace</th><th>Memories</th><th>Text</th><th>Stored</th><th>Ratio</th></tr></thead><tbody></tbody></table>
    </section>
    <section id="codecs">
      <h2>Codec mix</h2>
      <table id="codec-table"><thead><tr><th>Codec</th><th>Memories</th><th>Text</th><th>Envelopes</th><th>Share of envelopes</th></tr></thead><tbody></tbody></table>
    </section>
    <section id="daily">
      <h2>Ratio over time</h2>
      <div id="daily-chart" class="chart"></div>
      <p class="note" id="daily-note"></p>
    </section>
    <section id="imports">
      <h2>Imports</h2>
      <table id="imports-table"><thead><tr><th>Started</th><th>Namespace</th><th>Status</th><th>Records</th><th>Records/s</th></tr></thead><tbody></tbody></table>
      <p class="note" id="imports-note"></p>
    </section>
    <section id="cache">
      <h2>Cache</h2>
      <dl class="figures">
        <div><dt>Hit rate</dt><dd id="cache-rate"></dd></div>
        <div><dt>Hits / misses</dt><dd id="cache-counts"></dd></div>
        <div><dt>Entries</dt><dd id="cache-entries"></dd></div>
      </dl>
      <p class="note" id="cache-note"></p>
    </section>
    <section id="semantic">
      <h2>Semantic cost</h2>
      <p id="semantic-text"></p>
    </section>
  </div>
  <section id="search" hidden>
    <h2>Search</h2>
    <form id="search-form">
      <input id="search-query" type="search" placeholder="words or a question" maxlength="1000">
      <button type="submit">Search</button>
    </form>
    <ol id="search-results"></ol>
  </section>
</main>
</body>
</html>
`;

export const DASHBOARD_CSS = `
:root { color-scheme: light dark; --fg: #1b1f24; --muted: #5b6470; --bg: #f6f7f9; --card: #fff; --line: #d9dde3; --accent: #2f6fdd; --bad: #b42318; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e8eb; --muted: #9aa3ad; --bg: #15181c; --card: #1d2127; --line: #313740; --accent: #6a9cf0; --bad: #f27a6e; } }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; font: 14px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; flex-wrap: wrap; gap: 12px; align-items: center; padding: 10px 20px; background: var(--card); border-bottom: 1px solid var(--line); }
header h1 { font-size: 18px; margin: 0 16px 0 0; }
header form { display: flex; gap: 6px; align-items: center; }
input, select, button { font: inherit; padding: 4px 8px; border: 1px solid var(--line); border-radius: 4px; background: var(--card); color: var(--fg); }
button { cursor: pointer; }
button[type=submit] { background: var(--accent); color: #fff; border-color: var(--accent); }
#key { width: 22em; }
main { padding: 16px 20px; display: grid; gap: 16px; max-width: 1200px; }
#panels { display: grid; gap: 16px; grid-template-columns: repeat(auto-fit, minmax(360px, 1fr)); }
section { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 12px 16px; overflow-x: auto; }
h2 { font-size: 15px; margin: 0 0 8px; }
#status.error { color: var(--bad); font-weight: 600; }
.figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 8px; margin: 0; }
.figures dt { color: var(--muted); font-size: 12px; }
.figures dd { margin: 0; font-size: 18px; font-variant-numeric: tabular-nums; }
table { width: 100%; border-collapse: collapse; margin-top: 8px; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 3px 6px; border-bottom: 1px solid var(--line); }
th { color: var(--muted); font-weight: 500; font-size: 12px; }
.share { white-space: nowrap; }
.bar { display: inline-block; height: 8px; background: var(--accent); border-radius: 2px; vertical-align: middle; margin-right: 6px; }
.note { color: var(--muted); font-size: 12px; margin: 6px 0 0; }
.chart svg { width: 100%; height: 160px; }
.chart .text { fill: var(--line); }
.chart .stored { fill: var(--accent); }
.chart text { fill: var(--muted); font-size: 10px; }
pre { background: var(--bg); padding: 8px; border-radius: 4px; overflow-x: auto; white-space: pre-wrap; word-break: break-all; }
#search-form { display: flex; gap: 6px; }
#search-query { flex: 1; }
#search-results li { margin: 8px 0; }
#search-results .meta { color: var(--muted); font-size: 12px; }
#search-results .preview { white-space: pre-wrap; word-break: break-word; }
`;

// Plain ES2020 for the browser; no template literals inside (this file is one).
export const DASHBOARD_JS = String.raw`"use strict";
(function () {
  var KEY_ITEM = "memzip.key";
  var $ = function (id) { return document.getElementById(id); };
  var units = ["B", "KB", "MB", "GB", "TB"];
  function bytes(n) {
    var i = 0, v = n;
    while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
    return (i === 0 ? String(v) : v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)) + " " + units[i];
  }
  function int(n) { return Number(n).toLocaleString("en-US"); }
  function fixed(n, d) { return Number(n).toFixed(d); }
  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }
  function setFigure(id, text, raw) {
    var node = $(id);
    node.textContent = text;
    if (raw !== undefined) node.dataset.value = String(raw);
  }
  function row(cells) {
    var tr = document.createElement("tr");
    cells.forEach(function (cell) {
      var td = document.createElement("td");
      if (cell instanceof Node) td.appendChild(cell); else td.textContent = String(cell);
      tr.appendChild(td);
    });
    return tr;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function status(text, isError) {
    var node = $("status");
    node.textContent = text;
    node.className = isError ? "error" : "";
  }
  function key() { return sessionStorage.getItem(KEY_ITEM) || ""; }

  function call(method, path, body) {
    var init = { method: method, headers: { authorization: "Bearer " + key() } };
    if (body !== undefined) { init.headers["content-type"] = "application/json"; init.body = JSON.stringify(body); }
    return fetch(path, init).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        if (!response.ok) {
          var error = json && json.error ? json.error : { code: "E_HTTP", message: response.statusText };
          var failure = new Error(response.status + " " + error.code + ": " + error.message + (error.hint ? " " + error.hint : ""));
          failure.status = response.status;
          throw failure;
        }
        return json;
      });
    });
  }

  function renderSizes(data) {
    var t = data.totals;
    setFigure("total-text", bytes(t.originalBytes), t.originalBytes);
    setFigure("total-stored", bytes(t.storedBytes), t.storedBytes);
    $("total-stored").title = int(t.envelopeBytes) + " B envelopes + " + int(t.assetBytes) + " B assets";
    setFigure("total-ratio", t.storedBytes ? fixed(t.ratio, 2) + "×" : "–", t.ratio);
    setFigure("total-bpb", t.storedBytes ? fixed(t.bitsPerByte, 3) : "–", t.bitsPerByte);
    setFigure("total-memories", int(t.memories), t.memories);
    if (data.disk) setFigure("disk", bytes(data.disk.fileBytes), data.disk.fileBytes);
    else setFigure("disk", "– (a * key sees it)");
    var note = data.totalsOf === "store" ? "Whole store: each envelope and asset counted once."
      : data.totalsOf === "sum" ? "Sum of the key's namespaces: an asset or text two namespaces share is counted in each."
      : "One namespace: charged in full for the assets and shared texts it needs.";
    if (data.disk) note += " On disk: database file and log (" + bytes(data.disk.indexBytes) + " search index, " + bytes(data.disk.unusedAssetBytes) + " unused assets; " + bytes(data.disk.derivedBytes) + " derived model state beside it, not counted).";
    $("sizes-note").textContent = note;
    var body = $("namespaces-table").tBodies[0];
    clear(body);
    data.perNamespace.forEach(function (ns) {
      var tr = row([ns.namespace, int(ns.memories), bytes(ns.originalBytes), bytes(ns.storedBytes), ns.storedBytes ? fixed(ns.ratio, 2) + "×" : "–"]);
      tr.dataset.namespace = ns.namespace;
      body.appendChild(tr);
    });
    if (data.namespacesCapped) $("sizes-note").textContent += " Only the first " + data.perNamespace.length + " namespaces have a row.";
  }

  function renderCodecs(data) {
    var body = $("codec-table").tBodies[0];
    clear(body);
    var total = data.codecs.reduce(function (sum, c) { return sum + c.envelopeBytes; }, 0);
    data.codecs.forEach(function (c) {
      var share = total ? c.envelopeBytes / total : 0;
      var cell = el("span", null, "share");
      var bar = el("span", null, "bar");
      bar.style.width = Math.max(1, Math.round(share * 50)) + "px";
      cell.appendChild(bar);
      cell.appendChild(document.createTextNode(fixed(share * 100, 1) + " %"));
      var tr = row([c.codec, int(c.memories), bytes(c.originalBytes), bytes(c.envelopeBytes), cell]);
      tr.dataset.codec = c.codec;
      tr.dataset.memories = String(c.memories);
      tr.dataset.envelopeBytes = String(c.envelopeBytes);
      tr.dataset.originalBytes = String(c.originalBytes);
      body.appendChild(tr);
    });
  }

  var SVG = "http://www.w3.org/2000/svg";
  function svg(tag, attrs) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs).forEach(function (name) { node.setAttribute(name, String(attrs[name])); });
    return node;
  }
  function renderDaily(data) {
    var chart = $("daily-chart");
    clear(chart);
    var days = data.daily.days.slice(-60);
    if (days.length === 0) { chart.appendChild(el("p", "No memories to chart.", "note")); }
    else {
      var width = 600, height = 160, pad = 18;
      var max = days.reduce(function (m, d) { return Math.max(m, d.originalBytes); }, 1);
      var step = (width - pad) / days.length;
      var root = svg("svg", { viewBox: "0 0 " + width + " " + height, role: "img" });
      var title = svg("title", {});
      title.textContent = "Text (light) and envelope bytes (dark) per creation day";
      root.appendChild(title);
      days.forEach(function (d, i) {
        var w = Math.max(1, Math.min(40, step * 0.8)), x = pad + i * step + (step - w) / 2;
        var hText = (d.originalBytes / max) * (height - 2 * pad);
        var hStored = (d.envelopeBytes / max) * (height - 2 * pad);
        var bar = svg("rect", { x: x, y: height - pad - hText, width: w, height: hText, class: "text" });
        var tip = svg("title", {});
        tip.textContent = d.day + ": " + int(d.memories) + " memories, " + bytes(d.originalBytes) + " text, " + bytes(d.envelopeBytes) + " envelopes" + (d.envelopeBytes ? ", " + fixed(d.originalBytes / d.envelopeBytes, 2) + "×" : "");
        bar.appendChild(tip);
        root.appendChild(bar);
        root.appendChild(svg("rect", { x: x, y: height - pad - hStored, width: w, height: hStored, class: "stored" }));
      });
      var first = svg("text", { x: pad, y: height - 4 }); first.textContent = days[0].day; root.appendChild(first);
      if (days.length > 1) { var last = svg("text", { x: width - 60, y: height - 4 }); last.textContent = days[days.length - 1].day; root.appendChild(last); }
      chart.appendChild(root);
    }
    var note = "Per creation day (UTC): text bytes (light) against envelope bytes (dark); assets are not spread over days. " + int(data.daily.scanned) + " memories read";
    if (data.daily.capped) note += " — capped at " + int(data.daily.cap) + " (the oldest, in insertion order)";
    $("daily-note").textContent = note + (data.daily.days.length > 60 ? "; the last 60 days shown." : ".");
  }

  function renderImports(data) {
    var body = $("imports-table").tBodies[0];
    clear(body);
    data.imports.forEach(function (job) {
      body.appendChild(row([new Date(job.startedAt).toISOString().replace("T", " ").slice(0, 19), job.namespace, job.status, int(job.records), job.seconds > 0 ? fixed(job.recordsPerSecond, 1) : "–"]));
    });
    $("imports-note").textContent = data.imports.length ? "Records read over the time between the job's start and its last committed batch." : "No import jobs yet (memzip import, or an upload through the API).";
  }

  var PROCESS_WIDE = "Shown to a key for every namespace (*) only: these counters are the whole server's, every namespace's reads and writes.";

  function renderCache(data) {
    var c = data.cache;
    if (!c) {
      ["cache-rate", "cache-counts", "cache-entries"].forEach(function (id) { setFigure(id, "–"); delete $(id).dataset.value; });
      $("cache-note").textContent = PROCESS_WIDE;
      return;
    }
    $("cache-note").textContent = "";
    setFigure("cache-rate", c.hitRate === null ? "no recalls yet" : fixed(c.hitRate * 100, 1) + " %", c.hitRate === null ? "" : c.hitRate);
    setFigure("cache-counts", int(c.hits) + " / " + int(c.misses));
    setFigure("cache-entries", int(c.entries) + " (" + bytes(c.bytes) + ")");
  }

  function renderSemantic(data) {
    var s = data.semantic;
    if (!data.processWide) { $("semantic-text").textContent = PROCESS_WIDE; return; }
    if (!s) { $("semantic-text").textContent = "Semantic features are off for this server (no summaries, no model cost)."; return; }
    $("semantic-text").textContent = int(s.described) + " memories described, " + int(s.skipped) + " skipped, " + int(s.fallbacks) + " fallbacks. Cost " + fixed(s.total, 4) +
      "; local runs cost " + fixed(s.localCost, 4) + " against " + fixed(s.cloudEquivalent, 4) + " at the cloud price (saved " + fixed(s.savings, 4) + ").";
  }

  function fillNamespaces(data) {
    var select = $("namespace");
    var chosen = data.namespace || "";
    clear(select);
    select.appendChild(el("option", "all of the key's")).value = "";
    data.namespaces.forEach(function (ns) { var o = el("option", ns); o.value = ns; select.appendChild(o); });
    select.value = chosen;
    select.disabled = false;
  }

  function load() {
    if (!key()) { $("panels").hidden = true; $("search").hidden = true; $("empty").hidden = true; return Promise.resolve(); }
    status("Loading…", false);
    var ns = $("namespace").value;
    return call("GET", "/v1/dashboard" + (ns ? "?namespace=" + encodeURIComponent(ns) : "")).then(function (data) {
      fillNamespaces(data);
      var empty = data.totals.memories === 0;
      $("empty").hidden = !empty;
      $("curl-example").textContent = "curl -X POST " + location.origin + "/v1/memories -H 'Authorization: Bearer KEY' -H 'content-type: application/json' -d '{\"text\": \"The user prefers short answers.\"" + (data.namespaces.length === 1 ? ", \"namespace\": \"" + data.namespaces[0] + "\"" : "") + "}'";
      $("panels").hidden = false;
      $("search").hidden = empty;
      renderSizes(data); renderCodecs(data); renderDaily(data); renderImports(data); renderCache(data); renderSemantic(data);
      status(empty ? "Key accepted (" + data.role + "). The store holds no memories in its namespaces yet." : "Key accepted (" + data.role + "): " + int(data.totals.memories) + " memories.", false);
      document.body.dataset.loaded = "true";
    }, function (error) {
      $("panels").hidden = true; $("search").hidden = true; $("empty").hidden = true;
      status(error.message, true);
      document.body.dataset.loaded = "error";
    });
  }

  function search(event) {
    event.preventDefault();
    var query = $("search-query").value.trim();
    var list = $("search-results");
    if (!query) return;
    var ns = $("namespace").value;
    var body = { query: query, limit: 10 };
    if (ns) body.namespace = ns;
    call("POST", "/v1/search", body).then(function (answer) {
      clear(list);
      if (answer.hits.length === 0) list.appendChild(el("li", "No memory matches.", "note"));
      answer.hits.forEach(function (hit) {
        var li = document.createElement("li");
        li.dataset.id = hit.id;
        li.appendChild(el("div", hit.namespace + " / " + hit.id + " · score " + fixed(hit.score, 4), "meta"));
        li.appendChild(el("div", hit.preview + (hit.truncated ? "…" : ""), "preview"));
        list.appendChild(li);
      });
      list.dataset.done = "true";
    }, function (error) {
      clear(list);
      list.appendChild(el("li", error.message, "note"));
      list.dataset.done = "error";
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("key-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var value = $("key").value.trim();
      if (value) sessionStorage.setItem(KEY_ITEM, value);
      $("key").value = "";
      $("namespace").value = "";
      load();
    });
    $("key-forget").addEventListener("click", function () {
      sessionStorage.removeItem(KEY_ITEM);
      $("panels").hidden = true; $("search").hidden = true; $("empty").hidden = true;
      status("Key forgotten. Enter a key to see the store.", false);
    });
    $("namespace").addEventListener("change", function () { load(); });
    $("search-form").addEventListener("submit", search);
    load();
  });
})();
`;
