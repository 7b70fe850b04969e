// A search's trials: the table, paged and sorted by the API (GET /v1/searches/{id}/trials?skip&limit&sort&order,
// so a page holds at most `size` rows however many trials there are), and what a trial's architecture differs
// in from the search's other trials.

import { api, uiConfig } from "./api.js";
import { esc, fmt, fmtCount, stateBadge } from "./util.js";

const COLUMNS = [
  ["trial_number", "#"], ["state", "state"], ["accuracy", "accuracy"], ["latency_ms", "latency ms"],
  ["macs", "MACs"], ["params", "params"], ["resolution", "res"], ["spec_string", "architecture"],
  ["error", "error"],
];
const SORT_KEY = { trial_number: "number" }; // a column's sort key in the API where its name differs
const SIZES = [25, 50, 100];
const KIND = { mbconv: "mb", ghost: "gh", micro: "mi", ds: "ds", shuffle_v1: "sh1", shuffle_v2: "sh2", fire: "fi" };

// A spec as one token list per stage (kind, kernel, expansion, SE, activation, repeats, channels), and the
// resolution: what a search's trials can differ in.
export function specTokens(spec) {
  if (!spec) return [];
  const net = spec.backbone || spec; // a detector: its head and neck, then its backbone's stages
  const stages = net.stages.map((st, i) => {
    const b = st.block;
    return [`s${i + 1}:${KIND[b.kind] || b.kind}`, `k${b.kernel}`, b.expansion ? `e${b.expansion}` : "",
      b.se_ratio ? "se" : "", b.act || "", `×${st.repeats}`, `c${b.out_chs}`].filter(Boolean).join(" ");
  });
  return [`${spec.resolution}px`, ...(spec.backbone ? [detectorToken(spec)] : []), ...stages];
}

// A detector's head and neck in a few words ("yolox w32 ×2 | pan_lite w32").
export function detectorToken(spec) {
  const h = spec.head;
  const head = h.kind === "yolox" ? `yolox w${h.width} ×${h.convs}` : `ssdlite x${(h.extra_chs || []).join("/")}`;
  return `${head} | ${spec.neck.kind}${spec.neck.width ? ` w${spec.neck.width}` : ""}`;
}

// Which of specTokens' positions every one of `trials` shares (with one trial: none, so it shows whole).
export function commonTokens(trials) {
  const tokens = trials.map((t) => specTokens(t.spec));
  const width = Math.max(0, ...tokens.map((ts) => ts.length));
  return [...Array(width).keys()].map((i) => trials.length > 1 && tokens.every((ts) => ts[i] === tokens[0][i]));
}

// A trial's architecture as only what differs from the others (e.g. "s1:mb k3 ×1 c16" dropped when all share it).
export function differsFrom(common, spec) {
  return specTokens(spec).filter((_, i) => !common[i]).join(" | ");
}

export function differences(trials) {
  const common = commonTokens(trials);
  return trials.map((t) => differsFrom(common, t.spec));
}

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

export function tableHtml() {
  return `<div class="toolbar"><span class="pager" id="trial-pager"><button id="trials-prev">‹ previous</button>
    <span id="trial-page"></span><button id="trials-next">next ›</button></span>
    <label class="muted">rows per page <select id="trial-page-size">${SIZES.map((n) => `<option>${n}</option>`).join("")}
    </select></label></div>
    <table class="data sortable" id="trials"><thead><tr>${COLUMNS.map(([k, label]) => `<th data-col="${k}">${label}</th>`)
      .join("")}</tr></thead><tbody></tbody></table>`;
}

// Wires the table made by tableHtml() inside `root` to search `id`. Returns refresh(context): reads the current
// page again; context: {front: Set of the front's ids, common: commonTokens of all the search's trials}.
export function pagedTrials(root, id) {
  const table = root.querySelector("#trials");
  const view = { skip: 0, size: SIZES[0], sort: "number", order: "asc" };
  let context = { front: new Set(), common: [] };
  let asked = 0; // the latest page asked for: an older answer arriving after it is dropped
  const ready = uiConfig().then((config) => {
    const sortable = new Set(config.trial_sort_keys || []);
    table.querySelectorAll("th[data-col]").forEach((th) => {
      const key = SORT_KEY[th.dataset.col] || th.dataset.col;
      if (sortable.has(key)) th.dataset.key = key;
    });
  });

  async function load() {
    await ready;
    const mine = ++asked;
    const query = `skip=${view.skip}&limit=${view.size}&sort=${view.sort}&order=${view.order}`;
    const page = await api(`/v1/searches/${id}/trials?${query}`);
    if (mine !== asked) return page.count;
    if (!page.data.length && view.skip > 0) { // the page emptied (trials deleted): back to the last one
      view.skip = Math.max(0, Math.floor((page.count - 1) / view.size) * view.size);
      return load();
    }
    table.querySelector("tbody").innerHTML = page.data.map((t) => {
      const row = { ...t, differs: differsFrom(context.common, t.spec) };
      return `<tr data-id="${t.id}" class="${context.front.has(t.id) ? "on-front" : ""}">${
        COLUMNS.map(([k]) => `<td class="col-${k}">${cell(row, k)}</td>`).join("")}</tr>`;
    }).join("");
    table.querySelectorAll("th[data-key]").forEach((th) => {
      th.classList.toggle("asc", th.dataset.key === view.sort && view.order === "asc");
      th.classList.toggle("desc", th.dataset.key === view.sort && view.order === "desc");
    });
    root.querySelector("#trial-page").textContent = page.count
      ? `${view.skip + 1}–${view.skip + page.data.length} of ${page.count}` : "no trial yet";
    root.querySelector("#trials-prev").disabled = view.skip === 0;
    root.querySelector("#trials-next").disabled = view.skip + view.size >= page.count;
    table.dataset.view = `${view.sort}:${view.order}:${view.skip}:${view.size}`; // what the rows show (tests wait on it)
    return page.count;
  }

  table.querySelector("thead").addEventListener("click", (e) => {
    const th = e.target.closest("th[data-key]");
    if (!th) return;
    const again = view.sort === th.dataset.key;
    Object.assign(view, { sort: th.dataset.key, order: again && view.order === "asc" ? "desc" : "asc", skip: 0 });
    load();
  });
  root.querySelector("#trials-prev").addEventListener("click", () => { view.skip = Math.max(0, view.skip - view.size); load(); });
  root.querySelector("#trials-next").addEventListener("click", () => { view.skip += view.size; load(); });
  root.querySelector("#trial-page-size").addEventListener("change", (e) => { view.size = Number(e.target.value); view.skip = 0; load(); });
  table.querySelector("tbody").addEventListener("click", (e) => {
    const tr = e.target.closest("tr[data-id]");
    if (tr && !e.target.closest("a")) location.hash = `#/architecture/${tr.dataset.id}`;
  });
  return (next) => { context = next; return load(); };
}
