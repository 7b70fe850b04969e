// #/scaling-searches: launch an alpha/beta/gamma grid search, cancel and delete them; #/scaling-search/<id>: its
// candidates and scores and, at full fidelity, the trained family's accuracy against latency and MACs beside the
// baselines (the EfficientNet paper's figure 1, on the user's data).

import { api } from "./api.js";
import { lines } from "./chart.js";
import { buildForm, clearErrors, readForm, showErrors } from "./form.js";
import { ACTIVE, jobActions, runAction } from "./jobs.js";
import { esc, fmt, fmtCount, fmtSeconds, poll, stateBadge } from "./util.js";

const KIND = "scaling-search";
const CONFIRM = "Delete this scaling search and its Optuna study? (The network it chose stays.)";

const PAGE = 20;
const FIELDS = [
  { path: "name", kind: "text" },
  { path: "base.zoo", label: "base: zoo network", kind: "text", value: "efficientnet_b0" },
  { path: "base.architecture_id", label: "or base: architecture id", kind: "text" },
  { path: "dataset.source", label: "dataset", kind: "text" },
  { path: "dataset.subset", label: "dataset subset", kind: "number" },
  { path: "step", kind: "number" },
  { path: "tolerance", label: "formula tolerance", kind: "number" },
  { path: "counted_tolerance", label: "counted MACs-ratio tolerance", kind: "number" },
  { path: "max_candidates", label: "max candidates", kind: "int", value: 4 },
  { path: "seeds", label: "seeds per candidate", kind: "int", value: 3 },
  { path: "training.epochs", label: "epochs", kind: "int", value: 1 },
  { path: "fidelity", label: "fidelity (full: candidates, family and baselines trained with the recipe)", kind: "select" },
  { path: "recipe.epochs", label: "full fidelity: recipe epochs", kind: "int" },
  { path: "phis", label: "full fidelity: family phis", kind: "list-number" },
  { path: "baselines", label: "full fidelity: baselines (zoo networks)", kind: "list-text" },
  { path: "extra", label: "more (JSON merged into the request)", kind: "json" },
];

// A found network's launch form (#/scaling-searches/from/<id>): that network as the base, its search's data, and
// full fidelity, so that the defaults end with a trained family beside its baselines.
async function foundDefaults(architectureId) {
  const a = await api(`/v1/architectures/${architectureId}`);
  const searchId = (a.origin || {}).search_id;
  const dataset = searchId ? ((await api(`/v1/searches/${searchId}`)).config || {}).dataset || {} : {};
  const values = { "base.zoo": "", "base.architecture_id": architectureId, fidelity: "full",
    "dataset.source": dataset.source, "dataset.subset": dataset.subset };
  return FIELDS.map((f) => (f.path in values && values[f.path] != null ? { ...f, value: values[f.path] } : f));
}

export function renderList(root, architectureId) {
  root.innerHTML = `<section class="split"><div class="list-pane"><h2>Scaling searches</h2>
    <p class="muted">Each candidate (alpha, beta, gamma), its phi = 1 network rounded to keep the formula's MACs
    ratio, whose counted ratio is within the counted tolerance of 2 proxy-trains
    the phi = 1 network of the base once per seed; the best mean accuracy is chosen (ties: fewer MACs), and a
    paired t-test says whether it beats the runner-up beyond seed noise.</p>
    <form id="open" class="inline"><input name="id" placeholder="a scaling search id" size="38"><button>Open</button></form>
    <span class="pager"><button id="prev">‹ newer</button><span id="page-info"></span><button id="next">older ›</button></span>
    <p class="form-error" id="list-error"></p>
    <table class="data" id="scaling-searches"><thead><tr><th>scaling search</th><th>state</th><th>runs</th>
      <th>chosen</th><th>elapsed</th><th></th></tr></thead><tbody></tbody></table></div>
    <div class="form-pane"><h2>Launch a scaling search</h2><form id="launch-grid" class="grid-form" novalidate>
      <p class="form-error"></p><button type="submit">Launch</button></form></div></section>`;
  root.querySelector("#open").addEventListener("submit", (e) => {
    e.preventDefault();
    location.hash = `#/scaling-search/${e.target.elements.id.value.trim()}`;
  });
  const form = root.querySelector("#launch-grid");
  const fields = architectureId ? foundDefaults(architectureId) : Promise.resolve(FIELDS);
  fields.then((f) => buildForm(form, "ScalingSearchCreate", f)).catch((err) => {
    root.querySelector("#list-error").textContent = `architecture ${architectureId}: ${err.message}`;
  });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    try {
      const body = readForm(form, FIELDS);
      if (body.base && body.base.architecture_id) delete body.base.zoo;
      const job = await api("/v1/scaling-searches", { method: "POST", body });
      location.hash = `#/scaling-search/${job.id}`;
    } catch (err) {
      showErrors(form, err);
    }
  });
  const tbody = root.querySelector("#scaling-searches tbody");
  const [info, prev, next] = ["#page-info", "#prev", "#next"].map((s) => root.querySelector(s));
  let skip = 0;
  const refresh = async () => {
    const page = await api(`/v1/scaling-searches?skip=${skip}&limit=${PAGE}`);
    tbody.innerHTML = page.data.map((j) => {
      const r = j.result || {};
      const chosen = r.chosen ? `α ${r.chosen.alpha} β ${r.chosen.beta} γ ${r.chosen.gamma}` : "—";
      return `<tr data-id="${j.id}"><td><a href="#/scaling-search/${j.id}">${esc(j.name || j.id.slice(0, 8))}</a></td>
        <td>${stateBadge(j.state)}</td><td>${progress(j)}</td><td>${chosen}</td>
        <td>${fmtSeconds(j.elapsed_s)}</td><td class="actions">${jobActions(j, { withId: true })}</td></tr>`;
    }).join("") || '<tr><td colspan="6" class="muted">no scaling search yet</td></tr>';
    info.textContent = page.count ? `${skip + 1}–${skip + page.data.length} of ${page.count}` : "";
    prev.disabled = skip === 0;
    next.disabled = skip + PAGE >= page.count;
  };
  prev.addEventListener("click", () => { skip = Math.max(0, skip - PAGE); refresh(); });
  next.addEventListener("click", () => { skip += PAGE; refresh(); });
  tbody.addEventListener("click", async (e) => {
    const button = e.target.closest("button[data-action]");
    if (!button) return;
    const { action, id } = button.dataset;
    if (action === "delete" && !confirm(CONFIRM)) return;
    const error = root.querySelector("#list-error");
    error.textContent = "";
    try {
      await runAction(KIND, id, action);
    } catch (err) {
      error.textContent = `${action}: ${err.message}`;
    }
    refresh();
  });
  return poll(refresh, 3000);
}

// Runs finished of all (a run: one candidate, one seed); older jobs counted candidates.
function progress(job) {
  const r = job.result || {};
  const runs = (r.ranked || []).reduce((n, c) => n + (c.seeds ? c.seeds.length : 1), 0);
  return `${r.done ?? runs}/${job.config.runs ?? job.config.candidates}`;
}

function comparisonText(c) {
  if (!c) return "—";
  if (c.verdict === "untested") return `untested: ${esc(c.reason)}`;
  return `${esc(c.verdict.replace("_", " "))} at ${c.level}: ${esc(c.winner)} − ${esc(c.runner_up)} = ${fmt(c.mean_difference, 4)}
    (CI ${fmt(c.ci_low, 4)} to ${fmt(c.ci_high, 4)}, p = ${Number(c.p_value).toPrecision(2)}, ${c.seeds} seeds, ${esc(c.test)})`;
}

function candidateRows(candidates, chosen) {
  const isChosen = (c) => chosen && c.alpha === chosen.alpha && c.beta === chosen.beta && c.gamma === chosen.gamma;
  return candidates.map((c) => `<tr class="${isChosen(c) ? "chosen" : ""}"><td>${c.rank ?? "—"}</td><td>${c.alpha}</td>
    <td>${c.beta}</td><td>${c.gamma}</td><td>${fmt(c.ratio, 3)}</td><td>${stateBadge(c.status)}</td>
    <td class="num">${fmt(c.accuracy)}</td><td class="num">${fmt(c.accuracy_std)}</td>
    <td class="num">${c.seed != null ? `seed ${c.seed}` : (c.seeds || []).length}</td><td class="num">${fmt(c.macs_ratio, 2)}</td>
    <td class="num">${fmt(c.proxy_macs_ratio, 2)}</td><td class="num">${fmtCount(c.params)}</td>
    <td class="num">${fmtCount(c.macs)}</td><td class="num">${fmt(c.latency_ms, 2)}</td>
    <td class="error">${esc(c.error || "")}</td></tr>`).join("");
}

// The family members' and the baselines' points: one series per kind (the family, then each zoo network).
function familySeries(family, x) {
  const point = (n) => ({ x: x(n), y: n.test_accuracy, label: `${n.label}: test accuracy ${fmt(n.test_accuracy)}${
    n.test_accuracy_std != null ? ` ± ${fmt(n.test_accuracy_std)}` : ""}, ${fmt(n.latency_ms, 2)} ms, ${fmtCount(n.macs)} MACs` });
  const zoos = [...new Set(family.baselines.map((b) => b.zoo))];
  return [{ name: `family (α ${family.alpha}, β ${family.beta}, γ ${family.gamma})`, points: family.members.map(point) },
    ...zoos.map((z) => ({ name: `${z} at each member's MACs`, points: family.baselines.filter((b) => b.zoo === z).map(point) }))];
}

// Family and baseline runs finished: counted in the final result, listed while the job runs.
function familyDone(r) {
  if (r.family) {
    return [...r.family.members, ...r.family.baselines].reduce((n, x) => n + (x.seeds || []).length, 0);
  }
  return (r.family_runs || []).filter((run) => !run.error).length;
}

function familyRows(family) {
  const row = (n) => `<tr><td>${n.architecture_id ? `<a href="#/architecture/${n.architecture_id}">${esc(n.label)}</a>`
    : esc(n.label)}</td><td class="num">${n.resolution}</td><td class="num">${fmtCount(n.params)}</td>
    <td class="num">${fmtCount(n.macs)}</td><td class="num">${fmt(n.macs_ratio, 2)}</td><td class="num">${fmt(n.ideal_ratio, 2)}</td>
    <td class="num">${fmt(n.latency_ms, 2)}</td><td class="num">${fmt(n.test_accuracy)}</td>
    <td class="num">${fmt(n.test_accuracy_std)}</td><td class="num">${(n.seeds || []).length}</td>
    <td><code>${esc(n.directory || "")}</code><span class="error">${esc(n.error || "")}</span></td></tr>`;
  return [...family.members, ...family.baselines].map(row).join("");
}

function renderFamily(box, family) {
  if (!family) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  box.querySelector("#family-latency-how").textContent = `latency ${family.latency}; products under ${family.out}`;
  lines(box.querySelector("#family-latency"), familySeries(family, (n) => n.latency_ms),
    { xLabel: "latency (ms)", yLabel: "test accuracy" });
  lines(box.querySelector("#family-macs"), familySeries(family, (n) => n.macs),
    { xLabel: "MACs (log)", yLabel: "test accuracy", xLog: true });
  box.querySelector("#family tbody").innerHTML = familyRows(family);
  box.querySelector("#family-comparisons").innerHTML = (family.comparisons || [])
    .map((c) => `<li>${esc(c.sentence)}</li>`).join("");
}

export function renderOne(root, id) {
  root.innerHTML = `<h2 id="title">Scaling search</h2><div id="summary" class="summary"></div>
    <div class="actions" id="job-actions"></div><p class="form-error" id="action-error"></p>
    <section id="trained-family" hidden><h3>Family at full fidelity beside the baselines</h3>
    <p class="muted" id="family-latency-how"></p><div class="charts"><div id="family-latency" class="chart-box half"></div>
    <div id="family-macs" class="chart-box half"></div></div><ul id="family-comparisons"></ul>
    <table class="data" id="family"><thead><tr><th>network</th><th>px</th><th>params</th><th>MACs</th>
    <th>MACs ratio</th><th>ideal ratio</th><th>latency ms</th><th>test accuracy</th><th>± sd</th><th>seeds</th>
    <th>product (first seed)</th></tr></thead><tbody></tbody></table></section>
    <h3>Candidates</h3><table class="data" id="candidates"><thead><tr><th>rank</th><th>alpha</th><th>beta</th>
    <th>gamma</th><th>α·β²·γ²</th><th>status</th><th>accuracy (mean)</th><th>± sd</th><th>seeds</th>
    <th>MACs ratio (counted)</th><th>proxy MACs ratio</th><th>params (φ=1)</th>
    <th>MACs (φ=1)</th><th>latency ms</th><th>error</th></tr></thead><tbody></tbody></table>`;
  let stopPolling = null;
  const restart = () => { if (stopPolling) stopPolling(); stopPolling = poll(load, 2000); };
  root.querySelector("#job-actions").addEventListener("click", async (e) => {
    const action = e.target.closest("button[data-action]")?.dataset.action;
    if (!action || (action === "delete" && !confirm(CONFIRM))) return;
    try {
      await runAction(KIND, id, action);
      if (action === "delete") location.hash = "#/scaling-searches";
      else restart();
    } catch (err) {
      root.querySelector("#action-error").textContent = `${action}: ${err.message}`;
    }
  });
  const load = async () => {
    const job = await api(`/v1/scaling-searches/${id}`);
    const r = job.result || {};
    const base = job.config.base_ref || {};
    root.querySelector("#title").textContent = `Scaling search ${job.name || id.slice(0, 8)}`;
    root.querySelector("#summary").innerHTML = `<div>${stateBadge(job.state)}</div><dl>
      <dt>base</dt><dd>${esc(base.zoo || base.architecture_id || base.spec || "")}</dd>
      <dt>runs</dt><dd>${progress(job)} (${job.config.candidates} candidates${
      job.config.rejected ? `, ${job.config.rejected} grid points rejected by their counted MACs ratio` : ""})${
      job.config.family_runs ? `; family and baselines ${familyDone(r)}/${job.config.family_runs} runs` : ""}</dd>
      <dt>elapsed</dt><dd>${fmtSeconds(job.elapsed_s)}</dd>
      <dt>chosen</dt><dd>${r.chosen ? `alpha ${r.chosen.alpha}, beta ${r.chosen.beta}, gamma ${r.chosen.gamma}` : "—"}${
      r.chosen_architecture_id ? ` (<a href="#/architecture/${r.chosen_architecture_id}">its phi = 1 network</a>)` : ""}</dd>
      <dt>winner vs runner-up</dt><dd id="comparison">${comparisonText(r.comparison)}</dd></dl>
      ${job.error ? `<p class="error">${esc(job.error)}</p>` : ""}`;
    root.querySelector("#candidates tbody").innerHTML = candidateRows(r.ranked || r.finished || [], r.chosen);
    renderFamily(root.querySelector("#trained-family"), r.family || null);
    root.querySelector("#job-actions").innerHTML = `${jobActions(job, { cancel: "Cancel", remove: "Delete" })}
      <a class="button" href="#/scaling-searches">All scaling searches</a>`;
    return ACTIVE.has(job.state);
  };
  restart();
  return () => stopPolling();
}
