// #/ : the searches, newest first, paged by the API, filtered by state; the launch form; cancel and delete.

import { api } from "./api.js";
import { buildForm, clearErrors, readForm, showErrors } from "./form.js";
import { JOB_STATES, jobActions, runAction } from "./jobs.js";
import { esc, fmt, fmtSeconds, poll, progressBar, stateBadge } from "./util.js";

const PAGE = 20;
export const LAUNCH_FIELDS = [
  { path: "name", label: "name", kind: "text" },
  { path: "dataset.source", label: "dataset", kind: "text" },
  { path: "dataset.subset", label: "dataset subset", kind: "number" },
  { path: "task", kind: "select", help: "classification, or detection on a box dataset (COCO, VOC, YOLO, builtin-boxes)" },
  { path: "objective", kind: "select" },
  { path: "mode", kind: "select" },
  { path: "target", label: "target (ms or MACs)", kind: "number" },
  { path: "sampler", kind: "select" },
  { path: "pruner", kind: "select" },
  { path: "strategy", kind: "select" },
  { path: "supernet.training.epochs", label: "supernet epochs (oneshot)", kind: "int" },
  { path: "n_trials", label: "trials", kind: "int" },
  { path: "n_workers", label: "workers", kind: "int" },
  { path: "training.epochs", label: "epochs", kind: "int" },
  { path: "training.batch_size", label: "batch size", kind: "int", value: "",
    placeholder: "the task's: 64, detection 16" },
  { path: "space.skeleton", label: "skeleton", kind: "select", blank: "the task's (proxy; detection: detection)" },
  { path: "space.kinds", label: "block kinds", kind: "list-text", placeholder: "e.g. mbconv, ghost" },
  { path: "space.kernels", label: "kernels", kind: "list-int", placeholder: "e.g. 3, 5" },
  { path: "space.expansions", label: "expansions", kind: "list-number", placeholder: "e.g. 3, 6" },
  { path: "space.se_ratios", label: "SE ratios", kind: "list-number", placeholder: "e.g. 0, 0.25" },
  { path: "space.acts", label: "activations", kind: "list-text", placeholder: "e.g. relu, swish" },
  { path: "space.width_factors", label: "width factors", kind: "list-number", placeholder: "e.g. 0.75, 1" },
  { path: "space.resolutions", label: "resolutions", kind: "list-int", placeholder: "e.g. 16, 24" },
  { path: "baselines", label: "baselines (zoo)", kind: "list-text", value: "", none: "none",
    placeholder: "empty: the task's five (or three detectors); none: no baselines",
    help: "zoo networks fitted to the data and trained beside the search; empty: the task's defaults; none: none" },
  { path: "latency.warmup", label: "latency warmup", kind: "int" },
  { path: "latency.repeats", label: "latency repeats", kind: "int" },
  { path: "extra", label: "more (JSON merged into the request)", kind: "json",
    help: "any other field of POST /v1/searches, e.g. {\"seed\": 1, \"training\": {\"lr\": 0.05}}" },
];

function row(s) {
  return `<tr data-id="${s.id}"><td><a href="#/search/${s.id}">${esc(s.name || s.id.slice(0, 8))}</a></td>
    <td>${stateBadge(s.state)}</td><td>${progressBar(s.progress)}</td>
    <td class="num">${fmt(s.best && s.best.accuracy)}</td><td class="num">${fmtSeconds(s.elapsed_s)}</td>
    <td>${esc(s.config.objective)} · ${esc(s.config.mode)} · ${esc(s.config.sampler)}</td>
    <td>${new Date(s.created_at).toLocaleString([], { dateStyle: "short", timeStyle: "short" })}</td><td class="actions">${jobActions(s, { withId: true })}</td></tr>`;
}

export function render(root) {
  let skip = 0;
  let state = "";
  root.innerHTML = `<section class="split"><div class="list-pane"><h2>Searches</h2>
    <div class="toolbar"><label>state <select id="state-filter">${["", ...JOB_STATES].map((s) => `<option value="${s}">${
      s || "all"}</option>`).join("")}</select></label>
      <span class="pager"><button id="prev">‹ newer</button><span id="page-info"></span><button id="next">older ›</button></span>
    </div>
    <p class="form-error" id="list-error"></p>
    <table class="data" id="searches"><thead><tr><th>search</th><th>state</th><th>progress</th><th>best accuracy</th>
      <th>elapsed</th><th>objective, mode, sampler</th><th>created</th><th></th></tr></thead><tbody></tbody></table>
    </div><div class="form-pane"><h2>Launch a search</h2>
    <form id="launch" class="grid-form" novalidate><p class="form-error"></p>
      <button type="submit" id="launch-button">Launch</button></form></div></section>`;
  const tbody = root.querySelector("#searches tbody");
  const info = root.querySelector("#page-info");
  const listError = root.querySelector("#list-error");
  const prev = root.querySelector("#prev");
  const next = root.querySelector("#next");

  async function refresh() {
    const query = `skip=${skip}&limit=${PAGE}${state ? `&state=${state}` : ""}`;
    const page = await api(`/v1/searches?${query}`);
    if (page.data.length === 0 && skip > 0) { skip = Math.max(0, skip - PAGE); return refresh(); }
    tbody.innerHTML = page.data.map(row).join("") ||
      `<tr><td colspan="8" class="muted">no searches${state ? ` ${state}` : ""} yet</td></tr>`;
    info.textContent = page.count ? `${skip + 1}–${skip + page.data.length} of ${page.count}` : "";
    prev.disabled = skip === 0;
    next.disabled = skip + PAGE >= page.count;
    return true;
  }

  root.querySelector("#state-filter").addEventListener("change", (e) => { state = e.target.value; skip = 0; refresh(); });
  root.querySelector("#prev").addEventListener("click", () => { skip = Math.max(0, skip - PAGE); refresh(); });
  root.querySelector("#next").addEventListener("click", () => { skip += PAGE; refresh(); });
  tbody.addEventListener("click", async (e) => {
    const button = e.target.closest("button[data-action]");
    if (!button) return;
    const { action, id } = button.dataset;
    if (action === "delete" && !confirm("Delete this search, its trials and its Optuna study?")) return;
    listError.textContent = "";
    try {
      await runAction("search", id, action);
    } catch (err) {
      listError.textContent = `${action}: ${err.message}`;
    }
    refresh();
  });

  const form = root.querySelector("#launch");
  buildForm(form, "SearchCreate", LAUNCH_FIELDS).then(() => { form.dataset.ready = "1"; });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    try {
      const created = await api("/v1/searches", { method: "POST", body: readForm(form, LAUNCH_FIELDS) });
      location.hash = `#/search/${created.id}`;
    } catch (err) {
      showErrors(form, err);
    }
  });
  return poll(refresh, 2000);
}
