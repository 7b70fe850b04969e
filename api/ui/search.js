// #/search/<id>: live progress (polling), the Pareto scatter and the sortable trial table.

import { allPages, api } from "./api.js";
import { curves, lines, scatter } from "./chart.js";
import { ACTIVE, jobActions, runAction } from "./jobs.js";
import { esc, fmt, fmtCount, fmtSeconds, poll, progressBar, stateBadge } from "./util.js";

const COLUMNS = [
  ["trial_number", "#"], ["state", "state"], ["accuracy", "accuracy"], ["latency_ms", "latency ms"],
  ["macs", "MACs"], ["params", "params"], ["resolution", "res"], ["spec_string", "architecture"],
  ["error", "error"],
];

function cell(t, key) {
  const v = t[key];
  if (key === "state") return stateBadge(v);
  if (key === "accuracy") return fmt(v);
  if (key === "latency_ms") return fmt(v, 2);
  if (key === "macs" || key === "params") return fmtCount(v);
  if (key === "spec_string") return `<code title="${esc(v)}">${esc(t.differs || "—")}</code>`;
  if (key === "error") return v ? `<span class="error" title="${esc(v)}">${esc(v.slice(0, 80))}</span>` : "";
  return esc(v ?? "—");
}

// Hypervolume after each trial (maximise accuracy, minimise cost), as a fraction of the box from (0, 0) to
// (the reference cost, accuracy 1): the area the front dominates, growing as the search finds better trade-offs.
// The reference is the search's fixed one (GET /v1/searches/{id}: hypervolume_reference) when it has one, else
// the largest cost seen; points dearer than the reference add nothing.
export function hypervolumes(points, refCost = null) {
  const ref = refCost ?? Math.max(...points.map((p) => p.x));
  let front = [];
  return [...points].sort((a, b) => a.n - b.n).map((p) => {
    if (!front.some((q) => q.x <= p.x && q.y >= p.y)) {
      front = [...front.filter((q) => !(p.x <= q.x && p.y >= q.y)), p].sort((a, b) => a.x - b.x);
    }
    let area = 0;
    front.forEach((q, i) => { area += Math.max(0, Math.min(i + 1 < front.length ? front[i + 1].x : ref, ref) - q.x) * q.y; });
    return { x: p.n, y: ref > 0 ? area / ref : 0, label: `after trial ${p.n}` };
  });
}

const KIND = { mbconv: "mb", ghost: "gh", micro: "mi", ds: "ds", shuffle_v1: "sh1", shuffle_v2: "sh2", fire: "fi" };

// A spec as one token list per stage (kind, kernel, expansion, SE, activation, repeats, channels), and the
// resolution: what a search's trials can differ in.
export function specTokens(spec) {
  if (!spec) return [];
  const stages = spec.stages.map((st, i) => {
    const b = st.block;
    return [`s${i + 1}:${KIND[b.kind] || b.kind}`, `k${b.kernel}`, b.expansion ? `e${b.expansion}` : "",
      b.se_ratio ? "se" : "", b.act || "", `×${st.repeats}`, `c${b.out_chs}`].filter(Boolean).join(" ");
  });
  return [`${spec.resolution}px`, ...stages];
}

// Each trial's architecture as only what differs between the trials shown: a stage's tokens that every trial
// shares are dropped (e.g. "s1:mb k3 ×1 c16"), so the column reads as the choices the search made.
export function differences(trials) {
  const tokens = trials.map((t) => specTokens(t.spec));
  const width = Math.max(0, ...tokens.map((ts) => ts.length));
  const common = [...Array(width).keys()].map((i) => tokens.every((ts) => ts[i] === tokens[0][i]));
  return tokens.map((ts) => ts.filter((_, i) => !common[i] || trials.length === 1).join(" | "));
}

function compare(key, dir) {
  return (a, b) => {
    const x = a[key];
    const y = b[key];
    if (x === y) return a.trial_number - b.trial_number;
    if (x === null || x === undefined) return 1; // missing values last, either way
    if (y === null || y === undefined) return -1;
    return (x < y ? -1 : 1) * dir;
  };
}

export function render(root, id) {
  root.innerHTML = `<h2 id="title">Search</h2><div id="summary" class="summary"></div>
    <div class="actions" id="search-actions"></div><p class="form-error" id="action-error"></p>
    <div id="supernet-box" hidden><h3 id="supernet-title">Supernet</h3><div id="supernet" class="chart-box"></div></div>
    <h3 id="chart-title">Pareto front</h3><div id="pareto" class="chart-box"><p class="muted">no completed trial yet</p></div>
    <div id="baselines-box" hidden><h3 id="baselines-title">Baselines</h3>
    <p class="muted">Zoo networks fitted to this data and to the space's MACs range, trained with the same budget
    (the diamonds in the plot; hollow when the front dominates them).</p>
    <table class="data" id="baselines"><thead><tr><th>baseline</th><th>state</th><th>accuracy</th><th>latency ms</th>
    <th>MACs</th><th>params</th><th>width</th><th>dominated by the front</th></tr></thead><tbody></tbody></table></div>
    <h3 id="hv-title">Hypervolume over trials</h3><p class="muted" id="hv-reference"></p><div id="hypervolume" class="chart-box"></div>
    <h3 id="curves-title">Learning curves</h3><div id="curves" class="chart-box"><p class="muted">no epoch finished yet</p></div>
    <h3>Trials <small id="trial-count" class="muted"></small></h3>
    <table class="data sortable" id="trials"><thead><tr>${COLUMNS.map(([k, label]) => `<th data-key="${k}">${label}</th>`)
      .join("")}</tr></thead><tbody></tbody></table>`;
  let search = null;
  let trials = [];
  let front = new Set();
  let seen = null;
  let sort = { key: "trial_number", dir: 1 };
  const tbody = root.querySelector("#trials tbody");

  function renderTable() {
    const rows = [...trials].sort(compare(sort.key, sort.dir));
    tbody.innerHTML = rows.map((t) => `<tr data-id="${t.id}" class="${front.has(t.id) ? "on-front" : ""}">${
      COLUMNS.map(([k]) => `<td class="col-${k}">${cell(t, k)}</td>`).join("")}</tr>`).join("");
    root.querySelectorAll("#trials th").forEach((th) => {
      th.classList.toggle("asc", th.dataset.key === sort.key && sort.dir === 1);
      th.classList.toggle("desc", th.dataset.key === sort.key && sort.dir === -1);
    });
    root.querySelector("#trial-count").textContent = `${trials.length} recorded`;
  }

  function verdict(b) {
    if (b.dominated === null) return b.state === "FAIL" ? "— (failed)" : "—";
    return b.dominated ? `yes (trial ${b.dominated_by})` : "no";
  }

  function renderBaselines() {
    const rows = search.baselines || [];
    root.querySelector("#baselines-box").hidden = !rows.length && !(search.config.baselines || []).length;
    const judged = rows.filter((b) => b.dominated !== null);
    root.querySelector("#baselines-title").textContent = `Baselines: the front dominates ${
      judged.filter((b) => b.dominated).length} of ${judged.length} measured`;
    root.querySelector("#baselines tbody").innerHTML = rows.map((b) => {
      const a = b.architecture;
      return `<tr data-id="${a.id}" data-baseline="${esc(b.name)}"><td>${esc(b.name)}</td><td>${
        stateBadge(b.state === "RUNNING" ? "running" : b.state)}${b.architecture.error ? ` <span class="error" title="${
        esc(a.error)}">${esc(a.error.slice(0, 60))}</span>` : ""}</td><td>${fmt(a.accuracy)}</td><td>${fmt(a.latency_ms, 2)}</td>
        <td title="${esc(a.macs)}">${fmtCount(a.macs)}</td><td>${fmtCount(a.params)}</td><td>${
        b.width === null ? "—" : `<span title="${esc(b.changes.join("; "))}">×${Number(b.width.toPrecision(3))}</span>`}</td>
        <td class="verdict">${verdict(b)}</td></tr>`;
    }).join("");
  }

  function renderChart() {
    const cost = search.config.objective === "macs" ? "macs" : "latency_ms";
    const points = trials.filter((t) => Number.isFinite(t.accuracy) && Number.isFinite(t[cost]))
      .map((t) => ({ x: t[cost], y: t.accuracy, id: t.id, n: t.trial_number, label: `#${t.trial_number} ${t.spec_string}`, front: front.has(t.id) }));
    const refs = (search.baselines || []).map((b) => ({ b, a: b.architecture }))
      .filter(({ a }) => Number.isFinite(a.accuracy) && Number.isFinite(a[cost]))
      .map(({ b, a }) => ({ x: a[cost], y: a.accuracy, id: a.id, name: b.name, dominated: b.dominated,
        label: `baseline ${b.name}: accuracy ${fmt(a.accuracy)}, dominated by the front: ${verdict(b)}` }));
    root.querySelector("#chart-title").textContent = `Pareto front: accuracy against ${cost === "macs" ? "MACs" : "latency (ms)"}`
      + ` (${front.size} on the front of ${points.length}${refs.length ? `; ${refs.length} baselines` : ""})`;
    if (!points.length && !refs.length) return;
    scatter(root.querySelector("#pareto"), points, {
      xLabel: cost === "macs" ? "MACs" : "latency (ms)", yLabel: "accuracy", xLog: cost === "macs", refs,
      onClick: (archId) => { location.hash = `#/architecture/${archId}`; },
    });
    if (!points.length) return;
    const reference = search.hypervolume_reference;
    const hv = hypervolumes(points, reference?.cost ?? null);
    root.querySelector("#hv-title").textContent = `Hypervolume over trials: ${hv.at(-1).y.toFixed(3)}`;
    root.querySelector("#hv-reference").textContent = reference ? `Reference point: accuracy 0 and ${
      reference.cost === null ? "the largest cost so far" : (cost === "macs" ? `${fmtCount(reference.cost)} MACs` : `${fmt(reference.cost, 2)} ms`)}, ${
      reference.how}.` : "";
    lines(root.querySelector("#hypervolume"), [{ name: "hypervolume", points: hv }],
      { xLabel: "trial", yLabel: "hypervolume (fraction)", height: 220 });
  }

  function renderCurves() {
    const all = trials.filter((t) => (t.details?.epoch_accuracies || []).length)
      .map((t) => ({ label: `#${t.trial_number} ${t.differs}: ${t.details.epoch_accuracies.map((a) => fmt(a)).join(", ")}`,
        highlight: front.has(t.id), points: t.details.epoch_accuracies.map((y, i) => ({ x: i + 1, y })) }));
    root.querySelector("#curves-title").textContent = `Learning curves: validation accuracy per epoch (${all.length} trials; the front highlighted)`;
    if (all.length) curves(root.querySelector("#curves"), all, { xLabel: "epoch", yLabel: "validation accuracy", height: 260 });
  }

  // A one-shot search's supernet: its state and steps, and the per-epoch accuracies of its extremes.
  function renderSupernet() {
    const sn = search.supernet;
    root.querySelector("#supernet-box").hidden = !sn;
    if (!sn) return;
    const epochs = (sn.largest_accuracies || []).length;
    root.querySelector("#supernet-title").textContent = `Supernet ${sn.state}: step ${sn.step} of ${sn.steps || "?"}, ${
      epochs} epochs, ${fmtSeconds(sn.cpu_seconds)} CPU`;
    if (!epochs) return;
    const curve = (name, values) => ({ name, points: values.map((y, i) => ({ x: i + 1, y, label: `epoch ${i + 1}: ${
      fmt(y)}` })).filter((p) => Number.isFinite(p.y)) });
    lines(root.querySelector("#supernet"), [curve("largest", sn.largest_accuracies), curve("smallest",
      sn.smallest_accuracies)], { xLabel: "epoch", yLabel: "validation accuracy (inherited)", height: 200 });
  }

  function renderSummary() {
    const s = search;
    root.querySelector("#title").textContent = `Search ${s.name || s.id.slice(0, 8)}`;
    const best = s.best ? `<a href="#/architecture/${s.best.id}">trial ${s.best.trial_number}: accuracy ${fmt(s.best.accuracy)}</a>` : "—";
    root.querySelector("#summary").innerHTML = `<div>${stateBadge(s.state)} ${s.stopped ? `<span class="muted">(${esc(s.stopped)})</span>` : ""}</div>
      <div id="progress">${progressBar(s.progress)}</div>
      <dl><dt>elapsed</dt><dd id="elapsed">${fmtSeconds(s.elapsed_s)}</dd><dt>best</dt><dd>${best}</dd>
      <dt>objective</dt><dd>${esc(s.config.objective)} · ${esc(s.config.mode)}${s.config.target ? ` (target ${s.config.target})` : ""}</dd>
      <dt>sampler</dt><dd>${esc(s.config.sampler)}, ${s.config.n_workers} workers</dd>
      <dt>strategy</dt><dd>${esc(s.config.strategy || "multi-trial")}</dd>
      <dt>dataset</dt><dd>${esc(s.config.dataset && s.config.dataset.source)}</dd></dl>
      ${s.error ? `<p class="error">${esc(s.error)}</p>` : ""}`;
    root.querySelector("#search-actions").innerHTML = `${jobActions(s, { cancel: "Cancel", remove: "Delete" })}
      <a class="button" href="#/">All searches</a>`;
  }

  root.querySelector("#trials thead").addEventListener("click", (e) => {
    const th = e.target.closest("th[data-key]");
    if (!th) return;
    sort = { key: th.dataset.key, dir: sort.key === th.dataset.key ? -sort.dir : 1 };
    renderTable();
  });
  root.querySelector("#baselines tbody").addEventListener("click", (e) => {
    const tr = e.target.closest("tr[data-id]");
    if (tr) location.hash = `#/architecture/${tr.dataset.id}`;
  });
  tbody.addEventListener("click", (e) => {
    const tr = e.target.closest("tr[data-id]");
    if (tr && !e.target.closest("a")) location.hash = `#/architecture/${tr.dataset.id}`;
  });
  root.querySelector("#search-actions").addEventListener("click", async (e) => {
    const action = e.target.closest("button[data-action]")?.dataset.action;
    if (!action) return;
    if (action === "delete" && !confirm("Delete this search, its trials and its Optuna study?")) return;
    try {
      await runAction("search", id, action);
      if (action === "delete") location.hash = "#/";
    } catch (err) {
      root.querySelector("#action-error").textContent = `${action}: ${err.message}`;
    }
  });

  const load = () => Promise.all([allPages(`/v1/searches/${id}/trials`), api(`/v1/searches/${id}/pareto`)]);
  let pending = load(); // the first load asks for the trials beside the search, not after it
  return poll(async () => {
    search = await api(`/v1/searches/${id}`);
    renderSummary();
    renderSupernet();
    renderBaselines();
    const measured = (search.baselines || []).map((b) => `${b.name}:${b.state}:${b.dominated_by}`).join(",");
    const key = `${search.state} ${JSON.stringify(search.progress)} ${measured}`;
    const early = pending;
    const first = early !== null;
    pending = null;
    if (key !== seen) {
      const [rows, pareto] = await (early || load());
      trials = rows;
      differences(trials).forEach((d, i) => { trials[i].differs = d; });
      front = new Set(pareto.data.map((t) => t.id));
      seen = first ? null : key; // the first trials were read beside the search, maybe older: read them again
      renderChart();
      renderCurves();
      renderTable();
      root.dataset.rendered = String(trials.length);
    }
    return first || ACTIVE.has(search.state);
  }, 1500);
}
