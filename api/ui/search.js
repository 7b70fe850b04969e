// #/search/<id>: live progress (polling), the Pareto scatter, hypervolume, learning curves, the stage choices in
// parallel coordinates, and the trial table (paged by the API: trials.js).

import { allPages, api } from "./api.js";
import { curves, lines, parallel, scatter } from "./chart.js";
import { ACTIVE, jobActions, runAction } from "./jobs.js";
import { finalizePanel } from "./trained.js";
import { commonTokens, differsFrom, pagedTrials, tableHtml } from "./trials.js";
import { esc, fmt, fmtCount, fmtSeconds, poll, progressBar, stateBadge } from "./util.js";

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

// The per-stage choice each parallel-coordinates view shows: its label and how a stage gives it.
const FIELDS = {
  kind: ["block", (st) => st.block.kind], kernel: ["kernel", (st) => st.block.kernel],
  expansion: ["expansion", (st) => st.block.expansion], se: ["SE", (st) => st.block.se_ratio],
  act: ["activation", (st) => st.block.act], repeats: ["repeats", (st) => st.repeats],
  channels: ["channels", (st) => st.block.out_chs],
};

const ordered = (values) => [...new Set(values.filter((v) => v !== null && v !== undefined))]
  .sort((a, b) => (typeof a === "number" && typeof b === "number" ? a - b : String(a).localeCompare(String(b))));

// Parallel coordinates of the measured trials: the resolution and one axis per stage whose `field` the trials
// chose differently (stages where every trial made the same choice tell nothing and are left out), then the
// cost and the accuracy. Returns {axes, rows, same: the stages left out}.
export function choiceAxes(trials, field, cost, front, metric = "accuracy") {
  const [name, get] = FIELDS[field];
  const specs = trials.map((t) => t.spec.backbone || t.spec); // a detector's stages are its backbone's
  const axes = [];
  const getters = [];
  const same = [];
  const resolutions = ordered(specs.map((s) => s.resolution));
  if (resolutions.length > 1) {
    axes.push({ label: "resolution", categories: resolutions });
    getters.push((t) => (t.spec.backbone || t.spec).resolution);
  }
  const stages = Math.max(0, ...specs.map((s) => s.stages.length));
  for (let i = 0; i < stages; i++) {
    const of = (spec) => (spec.stages[i] ? get(spec.stages[i]) : null);
    const values = ordered(specs.map(of));
    if (values.length < 2) { same.push(i + 1); continue; }
    axes.push({ label: `s${i + 1} ${name}`, categories: values });
    getters.push((t) => of(t.spec.backbone || t.spec));
  }
  axes.push({ label: cost === "macs" ? "MACs" : "latency ms", log: cost === "macs" }, { label: metric });
  getters.push((t) => t[cost], (t) => t.accuracy);
  const rows = trials.map((t) => ({ values: getters.map((g) => g(t)), id: t.id, highlight: front.has(t.id),
    label: `#${t.trial_number} ${metric} ${fmt(t.accuracy)}: ${axes.slice(0, -2).map((a, i) => `${a.label} ${getters[i](t)}`).join(", ")}` }));
  return { axes, rows, same };
}

export function render(root, id) {
  root.innerHTML = `<h2 id="title">Search</h2><div id="summary" class="summary"></div>
    <div class="actions" id="search-actions"></div><p class="form-error" id="action-error"></p>
    <div id="supernet-box" hidden><h3 id="supernet-title">Supernet</h3><div id="supernet" class="chart-box"></div></div>
    <h3 id="chart-title">Pareto front</h3><div id="pareto" class="chart-box"><p class="muted">no completed trial yet</p></div>
    <div id="baselines-box" hidden><h3 id="baselines-title">Baselines</h3>
    <p class="muted">Zoo networks fitted to this data and to the space's MACs range, trained with the same budget
    (the diamonds in the plot; hollow when the front dominates them).</p>
    <table class="data" id="baselines"><thead><tr><th>baseline</th><th>state</th><th id="baseline-metric">accuracy</th><th>latency ms</th>
    <th>MACs</th><th>params</th><th>width</th><th>dominated by the front</th></tr></thead><tbody></tbody></table></div>
    <h3 id="hv-title">Hypervolume over trials</h3><p class="muted" id="hv-reference"></p><div id="hypervolume" class="chart-box"></div>
    <div id="finalize-panel"></div>
    <h3 id="curves-title">Learning curves</h3><div id="curves" class="chart-box"><p class="muted">no epoch finished yet</p></div>
    <div class="chart-head"><h3 id="choices-title">Stage choices against cost and accuracy</h3><label class="muted">per stage
    <select id="choice-field">${Object.entries(FIELDS).map(([k, [label]]) => `<option value="${k}">${label}</option>`).join("")}
    </select></label></div><p class="muted" id="choices-note"></p>
    <div id="choices" class="chart-box"><p class="muted">no completed trial yet</p></div>
    <h3>Trials <small id="trial-count" class="muted"></small></h3>${tableHtml()}`;
  let search = null;
  let trials = [];
  let front = new Set();
  let seen = null;
  const refreshTable = pagedTrials(root, id);
  // What the accuracy slot holds: top-1 accuracy, or a detection search's validation mAP@[.5:.95].
  const metricOf = () => (search?.config.task === "detection" ? "mAP" : "accuracy");

  function verdict(b) {
    if (b.dominated === null) return b.state === "FAIL" ? "— (failed)" : "—";
    return b.dominated ? `yes (trial ${b.dominated_by})` : "no";
  }

  function renderBaselines() {
    const rows = search.baselines || [];
    root.querySelector("#baselines-box").hidden = !rows.length && !(search.config.baselines || []).length;
    const judged = rows.filter((b) => b.dominated !== null);
    root.querySelector("#baseline-metric").textContent = metricOf();
    root.querySelector('#trials th[data-col="accuracy"]').textContent = metricOf();
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
        label: `baseline ${b.name}: ${metricOf()} ${fmt(a.accuracy)}, dominated by the front: ${verdict(b)}` }));
    root.querySelector("#chart-title").textContent = `Pareto front: ${metricOf()} against ${cost === "macs" ? "MACs" : "latency (ms)"}`
      + ` (${front.size} on the front of ${points.length}${refs.length ? `; ${refs.length} baselines` : ""})`;
    if (!points.length && !refs.length) return;
    scatter(root.querySelector("#pareto"), points, {
      xLabel: cost === "macs" ? "MACs" : "latency (ms)", yLabel: metricOf() === "mAP" ? "mAP@[.5:.95]" : "accuracy", xLog: cost === "macs", refs,
      onClick: (archId) => { location.hash = `#/architecture/${archId}`; },
    });
    if (!points.length) return;
    const reference = search.hypervolume_reference;
    const hv = hypervolumes(points, reference?.cost ?? null);
    root.querySelector("#hv-title").textContent = `Hypervolume over trials: ${hv.at(-1).y.toFixed(3)}`;
    root.querySelector("#hv-reference").textContent = reference ? `Reference point: ${metricOf()} 0 and ${
      reference.cost === null ? "the largest cost so far" : (cost === "macs" ? `${fmtCount(reference.cost)} MACs` : `${fmt(reference.cost, 2)} ms`)}, ${
      reference.how}.` : "";
    lines(root.querySelector("#hypervolume"), [{ name: "hypervolume", points: hv }],
      { xLabel: "trial", yLabel: "hypervolume (fraction)", height: 220 });
  }

  function renderCurves() {
    const all = trials.filter((t) => (t.details?.epoch_accuracies || []).length)
      .map((t) => ({ label: `#${t.trial_number} ${t.differs}: ${t.details.epoch_accuracies.map((a) => fmt(a)).join(", ")}`,
        highlight: front.has(t.id), points: t.details.epoch_accuracies.map((y, i) => ({ x: i + 1, y })) }));
    root.querySelector("#curves-title").textContent = `Learning curves: validation ${metricOf()} per epoch (${all.length} trials; the front highlighted)`;
    if (all.length) curves(root.querySelector("#curves"), all, { xLabel: "epoch", yLabel: `validation ${metricOf()}`, height: 260 });
  }

  // A one-shot search's supernet: its state and steps, and the per-epoch accuracies of its extremes and the
  // median of random sub-networks (the extremes alone can look trained while the sub-networks between them are not).
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
      sn.smallest_accuracies), curve("random (median)", sn.random_accuracies || [])],
    { xLabel: "epoch", yLabel: "validation accuracy (inherited)", height: 200 });
  }

  function renderChoices() {
    const cost = search.config.objective === "macs" ? "macs" : "latency_ms";
    const measured = trials.filter((t) => t.spec && Number.isFinite(t.accuracy) && Number.isFinite(t[cost]));
    if (!measured.length) return;
    const field = root.querySelector("#choice-field").value;
    const { axes, rows, same } = choiceAxes(measured, field, cost, front, metricOf());
    root.querySelector("#choices-note").textContent = `One line per measured trial (${measured.length}; the front `
      + `highlighted): its ${FIELDS[field][0]} at each stage, its cost and its ${metricOf()}.${same.length
        ? ` Stages where every trial chose the same ${FIELDS[field][0]} are left out: ${same.map((i) => `s${i}`).join(", ")}.` : ""}`;
    parallel(root.querySelector("#choices"), axes, rows, {
      label: `${FIELDS[field][0]} per stage, cost and accuracy`,
      onClick: (archId) => { location.hash = `#/architecture/${archId}`; },
    });
  }

  function renderSummary() {
    const s = search;
    root.querySelector("#title").textContent = `Search ${s.name || s.id.slice(0, 8)}`;
    const best = s.best ? `<a href="#/architecture/${s.best.id}">trial ${s.best.trial_number}: ${metricOf()} ${fmt(s.best.accuracy)}</a>` : "—";
    root.querySelector("#summary").innerHTML = `<div>${stateBadge(s.state)} ${s.stopped ? `<span class="muted">(${esc(s.stopped)})</span>` : ""}</div>
      <div id="progress">${progressBar(s.progress)}</div>
      <dl><dt>elapsed</dt><dd id="elapsed">${fmtSeconds(s.elapsed_s)}</dd><dt>best</dt><dd>${best}</dd>
      <dt>objective</dt><dd>${esc(s.config.objective)} · ${esc(s.config.mode)}${s.config.target ? ` (target ${s.config.target})` : ""}</dd>
      <dt>sampler</dt><dd>${esc(s.config.sampler)}, ${s.config.n_workers} workers</dd>
      <dt>strategy</dt><dd>${esc(s.config.strategy || "multi-trial")}</dd>
      <dt>task</dt><dd id="task">${esc(s.config.task || "classification")}</dd>
      <dt>dataset</dt><dd>${esc(s.config.dataset && s.config.dataset.source)}</dd>
      <dt>Optuna study</dt><dd><code id="study">${esc(s.study)}</code></dd></dl>
      ${s.error ? `<p class="error">${esc(s.error)}</p>` : ""}`;
    root.querySelector("#search-actions").innerHTML = `${jobActions(s, { cancel: "Cancel", remove: "Delete" })}
      <a class="button" href="#/">All searches</a>`;
  }

  root.querySelector("#choice-field").addEventListener("change", () => renderChoices());
  root.querySelector("#baselines tbody").addEventListener("click", (e) => {
    const tr = e.target.closest("tr[data-id]");
    if (tr) location.hash = `#/architecture/${tr.dataset.id}`;
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

  const stopFinalizes = finalizePanel(root.querySelector("#finalize-panel"), id);
  const load = () => Promise.all([allPages(`/v1/searches/${id}/trials`), api(`/v1/searches/${id}/pareto`)]);
  let pending = load(); // the first load asks for the trials beside the search, not after it
  const stopSearch = poll(async () => {
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
      const common = commonTokens(trials);
      trials.forEach((t) => { t.differs = differsFrom(common, t.spec); });
      front = new Set(pareto.data.map((t) => t.id));
      seen = first ? null : key; // the first trials were read beside the search, maybe older: read them again
      renderChart();
      renderCurves();
      renderChoices();
      await refreshTable({ front, common });
      root.querySelector("#trial-count").textContent = `${trials.length} recorded`;
      root.dataset.rendered = String(trials.length);
    }
    return first || ACTIVE.has(search.state);
  }, 1500);
  return () => { stopSearch(); stopFinalizes(); };
}
