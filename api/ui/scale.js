// "Scale this": POST /v1/scalings for a base (a stored architecture or a zoo network) over a phi range, the
// published B0–B7 table beside it on request; the family's table and its params and MACs against phi.

import { api } from "./api.js";
import { lines } from "./chart.js";
import { buildForm, clearErrors, readForm, showErrors } from "./form.js";
import { esc, fmt, fmtCount } from "./util.js";

const SCALE_FIELDS = [
  { path: "alpha", label: "alpha (depth)", kind: "number" },
  { path: "beta", label: "beta (width)", kind: "number" },
  { path: "gamma", label: "gamma (resolution)", kind: "number" },
  { path: "phi_range.start", label: "phi from", kind: "number" },
  { path: "phi_range.stop", label: "phi to", kind: "number", value: 3 },
  { path: "phi_range.step", label: "phi step", kind: "number" },
];

function familyTable(derived, official) {
  const rows = (family, method) => family.data.map((m) => `<tr class="member"><td>${method}</td><td>${m.origin.phi}</td>
    <td><a href="#/architecture/${m.id}">${esc(m.name || `${method} phi ${m.origin.phi}`)}</a></td><td>${fmt(m.origin.depth_mult, 2)}</td>
    <td>${fmt(m.origin.width_mult, 2)}</td><td>${m.resolution}</td><td class="num">${fmtCount(m.params)}</td>
    <td class="num">${fmtCount(m.macs)}</td></tr>`).join("");
  return `<table class="data" id="family"><thead><tr><th>method</th><th>phi</th><th>network</th><th>depth ×</th>
    <th>width ×</th><th>resolution</th><th>params</th><th>MACs</th></tr></thead><tbody>${rows(derived, "derived")}${
    official ? rows(official, "published") : ""}</tbody></table>`;
}

function familyCharts(box, derived, official) {
  const series = (family, name, key) => ({
    name, points: family.data.map((m) => ({ x: m.origin.phi, y: m[key], label: `phi ${m.origin.phi}: ${fmtCount(m[key])}` })),
  });
  box.innerHTML = '<div class="chart-box half" id="family-params"></div><div class="chart-box half" id="family-macs"></div>';
  for (const [key, label] of [["params", "params"], ["macs", "MACs"]]) {
    const all = [series(derived, `derived ${label}`, key)];
    if (official) all.push(series(official, `published table ${label}`, key));
    lines(box.querySelector(`#family-${key}`), all, { xLabel: "phi", yLabel: label, yLog: true });
  }
}

// base: {architecture_id} or {zoo}
export function scalePanel(container, base) {
  const grid = base.architecture_id
    ? `<p><a class="button" id="scale-family" href="#/scaling-searches/from/${esc(base.architecture_id)}">Search
      alpha, beta, gamma on your data and train the family</a> (a scaling search at full fidelity: the grid's
      candidates, then phi = 0..3 and their baselines trained with the recipe)</p>` : "";
  container.innerHTML = `<h3>Scale this</h3>${grid}<form id="scale" class="grid-form inline" novalidate><div class="field">
    <label for="f-official">also the published B0–B7 table</label><input type="checkbox" id="f-official"></div>
    <p class="form-error"></p><button type="submit" id="scale-button">Scale</button></form>
    <div id="family-box"></div><div id="family-charts" class="charts"></div>`;
  const form = container.querySelector("#scale");
  buildForm(form, "ScalingCreate", SCALE_FIELDS);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    const body = { base, ...readForm(form, SCALE_FIELDS) };
    try {
      const derived = await api("/v1/scalings", { method: "POST", body });
      let official = null;
      if (container.querySelector("#f-official").checked) {
        const r = body.phi_range || {};
        official = await api("/v1/scalings", { method: "POST", body: { base, official: true,
          phi_range: { start: Math.max(0, Math.ceil(r.start ?? 0)), stop: Math.min(7, Math.floor(r.stop ?? 7)), step: 1 } } });
      }
      container.querySelector("#family-box").innerHTML = familyTable(derived, official);
      familyCharts(container.querySelector("#family-charts"), derived, official);
    } catch (err) {
      showErrors(form, err);
    }
  });
}
