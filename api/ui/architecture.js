// #/architecture/<id>: the network stage by stage, its measurements, downloads, and "scale this".

import { api } from "./api.js";
import { lines } from "./chart.js";
import { buildForm, clearErrors, readForm, showErrors } from "./form.js";
import { esc, fmt, fmtCount, stateBadge } from "./util.js";

const SCALE_FIELDS = [
  { path: "alpha", label: "alpha (depth)", kind: "number" },
  { path: "beta", label: "beta (width)", kind: "number" },
  { path: "gamma", label: "gamma (resolution)", kind: "number" },
  { path: "phi_range.start", label: "phi from", kind: "number" },
  { path: "phi_range.stop", label: "phi to", kind: "number", value: 3 },
  { path: "phi_range.step", label: "phi step", kind: "number" },
];

const dash = (v) => (v === null || v === undefined ? "—" : esc(v));

// One row per stage (and the stem and head), with the resolution each one outputs ('same' padding: ceil).
export function stageRows(spec) {
  let res = spec.resolution;
  const rows = [];
  const stem = spec.stem || {};
  res = Math.ceil(res / (stem.stride || 1));
  if (stem.pool && stem.pool !== "none") res = Math.ceil(res / 2);
  rows.push({ name: "stem", kind: stem.kind, kernel: stem.kernel, act: stem.act, repeats: 1, chs: stem.out_chs,
    stride: stem.stride, res });
  spec.stages.forEach((stage, i) => {
    const b = stage.block;
    res = Math.ceil(res / (b.stride || 1));
    rows.push({ name: `stage ${i + 1}`, kind: b.kind, kernel: b.kernel, expansion: b.expansion, se: b.se_ratio,
      act: b.act, repeats: stage.repeats, chs: b.out_chs, stride: b.stride, res });
  });
  const head = spec.head || {};
  rows.push({ name: "head", kind: `pool + ${head.classifier || "linear"}`, act: head.act, chs: head.conv_chs,
    res: 1, repeats: 1 });
  return rows;
}

function stageTable(spec) {
  return `<table class="data" id="stages"><thead><tr><th></th><th>block</th><th>kernel</th><th>expansion</th><th>SE</th>
    <th>activation</th><th>repeats</th><th>channels</th><th>stride</th><th>out resolution</th></tr></thead><tbody>${
    stageRows(spec).map((r) => `<tr><th>${r.name}</th><td>${dash(r.kind)}</td><td>${dash(r.kernel)}</td>
      <td>${dash(r.expansion)}</td><td>${dash(r.se)}</td><td>${dash(r.act)}</td><td>${dash(r.repeats)}</td>
      <td>${dash(r.chs)}</td><td>${dash(r.stride)}</td><td>${r.res}×${r.res}</td></tr>`).join("")}</tbody></table>`;
}

function originText(origin) {
  if (origin.kind === "search" || origin.search_id) {
    return `search trial (<a href="#/search/${esc(origin.search_id)}">open the search</a>)`;
  }
  return `<code>${esc(JSON.stringify(origin))}</code>`;
}

function latencyText(a) {
  if (a.latency_ms === null || a.latency_ms === undefined) return "—";
  const d = (a.details || {}).device;
  const on = d && typeof d === "object"
    ? `${d.device_name || d.device} (${[d.cpu !== d.device_name && d.cpu, `${d.threads} thread${d.threads === 1 ? "" : "s"}`,
      `torch ${d.torch}`].filter(Boolean).join(", ")})`
    : d;
  return `${fmt(a.latency_ms, 2)} ms${a.latency_p90_ms ? ` (p90 ${fmt(a.latency_p90_ms, 2)})` : ""}${
    on ? ` on ${esc(on)}` : ""}`;
}

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

export function render(root, id) {
  root.innerHTML = '<p class="muted">loading…</p>';
  api(`/v1/architectures/${id}`).then((a) => {
    const spec = a.spec;
    root.innerHTML = `<h2>Architecture ${esc(a.name || id.slice(0, 8))}</h2>
      <dl class="summary"><dt>state</dt><dd>${a.state ? stateBadge(a.state) : "—"}</dd>
        <dt>accuracy</dt><dd id="accuracy">${fmt(a.accuracy)}</dd>
        <dt>params</dt><dd id="params" title="${a.params ?? ""}">${fmtCount(a.params)}</dd>
        <dt>MACs</dt><dd id="macs" title="${a.macs ?? ""}">${fmtCount(a.macs)}</dd>
        <dt>latency</dt><dd id="latency">${latencyText(a)}</dd>
        <dt>resolution</dt><dd>${dash(a.resolution)}</dd>
        <dt>origin</dt><dd id="origin">${originText(a.origin || {})}${a.trial_number !== null ? `, trial ${a.trial_number}` : ""}</dd>
        ${a.error ? `<dt>error</dt><dd class="error">${esc(a.error)}</dd>` : ""}</dl>
      <p class="mono" id="spec-string">${esc(a.spec_string || "")}</p>
      <div class="actions downloads">${spec ? `<a class="button" id="download-py" href="${a.links.code}" download>Download .py</a>
        <a class="button" id="download-onnx" href="${a.links.onnx}" download>Download ONNX</a>
        <button id="download-json">Download JSON</button>` : '<span class="muted">no spec: nothing to download</span>'}</div>
      ${spec ? stageTable(spec) : ""}
      ${spec ? `<h3>Scale this</h3><form id="scale" class="grid-form inline" novalidate><div class="field">
        <label for="f-official">also the published B0–B7 table</label><input type="checkbox" id="f-official"></div>
        <p class="form-error"></p><button type="submit" id="scale-button">Scale</button></form>
        <div id="family-box"></div><div id="family-charts" class="charts"></div>` : ""}`;
    if (!spec) return;
    root.querySelector("#download-json").addEventListener("click", () => {
      const blob = new Blob([JSON.stringify(spec, null, 2)], { type: "application/json" });
      const link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = `${(a.name || "architecture").replace(/[^A-Za-z0-9_-]+/g, "_")}_${id.slice(0, 8)}.json`;
      link.click();
      URL.revokeObjectURL(link.href);
    });
    const form = root.querySelector("#scale");
    buildForm(form, "ScalingCreate", SCALE_FIELDS);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      clearErrors(form);
      const body = { base: { architecture_id: id }, ...readForm(form, SCALE_FIELDS) };
      try {
        const derived = await api("/v1/scalings", { method: "POST", body });
        let official = null;
        if (root.querySelector("#f-official").checked) {
          const r = body.phi_range || {};
          official = await api("/v1/scalings", { method: "POST", body: { base: body.base, official: true,
            phi_range: { start: Math.max(0, Math.ceil(r.start ?? 0)), stop: Math.min(7, Math.floor(r.stop ?? 7)), step: 1 } } });
        }
        root.querySelector("#family-box").innerHTML = familyTable(derived, official);
        familyCharts(root.querySelector("#family-charts"), derived, official);
      } catch (err) {
        showErrors(form, err);
      }
    });
  }).catch((err) => {
    root.innerHTML = `<p class="error">architecture ${esc(id)}: ${esc(err.message)}</p>`;
  });
}
