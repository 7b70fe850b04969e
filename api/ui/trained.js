// Full fidelity in the pages: an architecture's trained figures and learning curves, "train this" (POST
// /v1/trainings) with the running training's epochs, and a search's finalizes (POST /v1/searches/{id}/finalize)
// with their networks and the proxy truth.

import { api } from "./api.js";
import { lines } from "./chart.js";
import { buildForm, clearErrors, readForm, showErrors } from "./form.js";
import { ACTIVE } from "./jobs.js";
import { esc, fmt, fmtSeconds, poll, stateBadge } from "./util.js";

const RECIPE_FIELDS = [
  { path: "recipe.epochs", label: "epochs", kind: "int" },
  { path: "recipe.resolution", label: "resolution", kind: "int", placeholder: "the data's" },
  { path: "recipe.batch_size", label: "batch size", kind: "int" },
];

// Validation accuracy per epoch of the weights and of their EMA.
export function curveSeries(epochs) {
  const series = [{ name: "validation (weights)", points: epochs.map((e) => ({ x: e.epoch + 1, y: e.val_accuracy,
    label: `epoch ${e.epoch + 1}: ${fmt(e.val_accuracy)} (loss ${fmt(e.train_loss)})` })) }];
  if (epochs.some((e) => e.ema_val_accuracy !== null && e.ema_val_accuracy !== undefined)) {
    series.push({ name: "validation (EMA of the weights)", points: epochs.map((e) => ({ x: e.epoch + 1,
      y: e.ema_val_accuracy, label: `epoch ${e.epoch + 1}: ${fmt(e.ema_val_accuracy)}` })) });
  }
  return series;
}

function epochsText(network) {
  const done = (network.epochs || []).length;
  return network.epochs_total ? `${done}/${network.epochs_total} epochs` : `${done} epochs`;
}

// The architecture's full-fidelity summary beside its proxy accuracy (empty until it was trained).
export function trainedSummary(a) {
  const t = a.trained;
  if (!t) return "";
  const r = t.recipe || {};
  const job = t.job || {};
  const jobLink = job.kind === "finalize" ? `<a href="#/finalize/${esc(job.id)}">finalize ${esc(job.id.slice(0, 8))}</a>`
    : `training ${esc((job.id || "").slice(0, 8))}`;
  const m = a.spec && a.spec.backbone ? "mAP" : "accuracy"; // a detector's: mAP@[.5:.95]
  return `<h3 id="trained-title">Full fidelity: test ${m} ${fmt(a.test_accuracy)} (proxy ${fmt(a.accuracy)})</h3>
    <dl class="summary" id="trained"><dt>proxy ${m}</dt><dd id="proxy-accuracy">${fmt(a.accuracy)} (validation, after the search's short training)</dd>
    <dt>test ${m}</dt><dd id="test-accuracy">${fmt(a.test_accuracy)}${t.test_map50 === undefined ? "" : ` (mAP@.5 ${fmt(t.test_map50)})`} on ${esc(t.test_size)} held-out images</dd>
    <dt>validation ${m}</dt><dd>${fmt(t.val_accuracy)} (${esc(t.selected)} of epoch ${esc(t.best_epoch + 1)}${
      t.stopped ? `; stopped: ${esc(t.stopped)}` : ""}${t.resumed_from ? `; resumed after epoch ${esc(t.resumed_from)}` : ""})</dd>
    <dt>recipe</dt><dd>${esc(r.epochs)} epochs at ${esc(t.spec ? t.spec.resolution : r.resolution)} px, batch ${esc(r.batch_size)}, ${
      esc(r.optimizer)} lr ${esc(r.lr)}, ${esc(r.auto_augment)}, EMA ${esc(r.ema_decay)}${
      t.inherited ? "; fine-tuned from the weights it inherits from the one-shot supernet" : ""}</dd>
    <dt>trained in</dt><dd>${fmtSeconds(t.train_seconds)} by ${jobLink}</dd></dl>
    <div id="trained-curves" class="chart-box"></div>`;
}

export function trainedCurves(container, trained, yLabel = "validation accuracy") {
  if (container && trained && (trained.epochs || []).length) {
    lines(container, curveSeries(trained.epochs), { xLabel: "epoch", yLabel, height: 260 });
  }
}

// "Train at full fidelity": the form, then the newest training of this architecture while it runs.
export function trainPanel(container, architectureId, onTrained) {
  container.innerHTML = `<h3>Train at full fidelity</h3><form id="train" class="grid-form inline" novalidate>
    <p class="form-error"></p><button type="submit" id="train-button">Train</button></form>
    <p id="training-status" class="muted"></p><div id="training-curves" class="chart-box" hidden></div>`;
  const form = container.querySelector("#train");
  buildForm(form, "TrainingCreate", RECIPE_FIELDS);
  const status = container.querySelector("#training-status");
  let seen = null;
  const stop = poll(async () => {
    const page = await api(`/v1/trainings?architecture_id=${architectureId}&limit=1`);
    const job = page.data[0];
    if (!job) return true;
    const network = (job.result || {}).network || {};
    status.innerHTML = `training ${esc(job.id.slice(0, 8))}: ${stateBadge(job.state)} ${epochsText(network)}${
      job.attempts > 1 ? ` (resumed, attempt ${job.attempts})` : ""}${job.error ? ` <span class="error">${esc(job.error)}</span>` : ""}`;
    const box = container.querySelector("#training-curves");
    box.hidden = !(network.epochs || []).length || !ACTIVE.has(job.state);
    if (!box.hidden) lines(box, curveSeries(network.epochs), { xLabel: "epoch", yLabel: "validation accuracy", height: 220 });
    if (seen && ACTIVE.has(seen) && job.state === "succeeded" && onTrained) onTrained();
    seen = job.state;
    return true;
  }, 2000);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    try {
      const job = await api("/v1/trainings", { method: "POST",
        body: { architecture: { architecture_id: architectureId }, ...readForm(form, RECIPE_FIELDS) } });
      seen = job.state;
      status.textContent = `training ${job.id.slice(0, 8)} queued`;
    } catch (err) {
      showErrors(form, err);
    }
  });
  return stop;
}

// The proxy truth of a finished finalize: the correlations, the sentences, each baseline's verdict.
export function proxyTruth(truth) {
  if (!truth) return '<p class="muted">proxy truth once every network is trained</p>';
  const a = truth.agreement || {};
  const rows = (truth.baselines || []).map((b) => `<tr><td>${esc(b.name)}</td><td class="verdict">${
    b.dominated ? `yes (${esc(b.dominated_by)})` : "no"}</td><td>${b.margin == null ? "—" : fmt(b.margin)}</td></tr>`).join("");
  return `<dl class="summary proxy-truth"><dt>Spearman</dt><dd class="spearman">${fmt(a.spearman, 2)}${
    a.spearman_p !== undefined && a.spearman_p !== null ? ` (p = ${fmt(a.spearman_p, 2)})` : ""}</dd>
    <dt>Kendall</dt><dd class="kendall">${fmt(a.kendall, 2)}</dd><dt>networks</dt><dd>${esc(a.n ?? "—")}</dd></dl>
    <p class="agreement-sentence">${esc(truth.agreement_sentence)}</p><p class="dominance-sentence">${esc(truth.dominance_sentence)}</p>
    ${rows ? `<table class="data baselines-truth"><thead><tr><th>baseline</th><th>dominated by the fully trained front</th>
    <th>accuracy margin at no more cost</th></tr></thead><tbody>${rows}</tbody></table>` : ""}`;
}

function networksTable(networks) {
  return `<table class="data networks"><thead><tr><th>network</th><th>state</th><th>proxy acc</th><th>epochs</th>
    <th>full val acc</th><th>full test acc</th></tr></thead><tbody>${networks.map((n) => `<tr data-name="${esc(n.name)}"><td>${
    n.architecture_id ? `<a href="#/architecture/${esc(n.architecture_id)}">${esc(n.name)}</a>` : esc(n.name)}</td><td>${
    stateBadge(n.state)}${n.error ? ` <span class="error" title="${esc(n.error)}">${esc(n.error.slice(0, 60))}</span>` : ""}</td><td>${
    fmt(n.proxy_accuracy)}</td><td>${epochsText(n)}</td><td>${fmt(n.val_accuracy)}</td><td>${fmt(n.test_accuracy)}</td></tr>`)
    .join("")}</tbody></table>`;
}

export function finalizeCard(f) {
  const networks = (f.result || {}).networks || [];
  return `<div class="finalize" data-id="${f.id}"><h4><a href="#/finalize/${f.id}">finalize ${esc(f.name || f.id.slice(0, 8))}</a>
    ${stateBadge(f.state)} <span class="muted">${fmtSeconds(f.elapsed_s)}</span></h4>
    ${f.error ? `<p class="error">${esc(f.error)}</p>` : ""}${networksTable(networks)}${proxyTruth(f.proxy_truth)}</div>`;
}

// A search's finalizes (newest first) and the form that queues one.
export function finalizePanel(container, searchId) {
  container.innerHTML = `<h3>Full fidelity: finalize the front</h3>
    <p class="muted">Train the search's top architectures and its baselines with a full recipe; the proxy truth says
    whether the proxy ranked them as full training does.</p>
    <form id="finalize" class="grid-form inline" novalidate><p class="form-error"></p>
    <button type="submit" id="finalize-button">Finalize</button></form><div id="finalizes"></div>`;
  const form = container.querySelector("#finalize");
  const fields = [{ path: "top_k", label: "top k", kind: "int" }, ...RECIPE_FIELDS];
  buildForm(form, "FinalizeCreate", fields);
  const stop = poll(async () => {
    const page = await api(`/v1/finalizes?search_id=${searchId}&limit=5`);
    container.querySelector("#finalizes").innerHTML = page.data.map(finalizeCard).join("");
    return true;
  }, 2500);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    try {
      await api(`/v1/searches/${searchId}/finalize`, { method: "POST", body: readForm(form, fields) });
    } catch (err) {
      showErrors(form, err);
    }
  });
  return stop;
}

// #/finalize/<id>: one finalize, followed while it runs.
export function renderFinalize(root, id) {
  root.innerHTML = '<h2 id="title">Finalize</h2><div id="finalize-body"><p class="muted">loading…</p></div>';
  return poll(async () => {
    const f = await api(`/v1/finalizes/${id}`);
    root.querySelector("#title").innerHTML = `Finalize ${esc(f.name || id.slice(0, 8))} of ${f.search_id
      ? `<a href="#/search/${f.search_id}">search ${f.search_id.slice(0, 8)}</a>` : "a deleted search"}`;
    root.querySelector("#finalize-body").innerHTML = finalizeCard(f);
    return ACTIVE.has(f.state);
  }, 2000);
}
