// #/architecture/<id>: the network stage by stage, its measurements, downloads, and "scale this".

import { api, download } from "./api.js";
import { scalePanel } from "./scale.js";
import { trainedCurves, trainedSummary, trainPanel } from "./trained.js";
import { esc, fmt, fmtCount, saveJson, stateBadge } from "./util.js";

const dash = (v) => (v === null || v === undefined ? "—" : esc(v));

// One row per stage (and the stem and head), with the resolution each one outputs ('same' padding: ceil).
export function stageRows(spec, head = true) {
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
  if (!head) return rows; // a detector's backbone: its classifier head is not used
  const h = spec.head || {};
  rows.push({ name: "head", kind: `pool + ${h.classifier || "linear"}`, act: h.act, chs: h.conv_chs,
    res: 1, repeats: 1 });
  return rows;
}

export function stageTable(spec, head = true) {
  return `<table class="data" id="stages"><thead><tr><th></th><th>block</th><th>kernel</th><th>expansion</th><th>SE</th>
    <th>activation</th><th>repeats</th><th>channels</th><th>stride</th><th>out resolution</th></tr></thead><tbody>${
    stageRows(spec, head).map((r) => `<tr><th>${r.name}</th><td>${dash(r.kind)}</td><td>${dash(r.kernel)}</td>
      <td>${dash(r.expansion)}</td><td>${dash(r.se)}</td><td>${dash(r.act)}</td><td>${dash(r.repeats)}</td>
      <td>${dash(r.chs)}</td><td>${dash(r.stride)}</td><td>${r.res}×${r.res}</td></tr>`).join("")}</tbody></table>`;
}

function baseLink(base) {
  if (!base) return "?";
  if (base.architecture_id) return `<a href="#/architecture/${esc(base.architecture_id)}">architecture ${esc(base.architecture_id.slice(0, 8))}</a>`;
  if (base.zoo) return `<a href="#/zoo/${esc(base.zoo)}">${esc(base.zoo)}</a>`;
  return esc(base.spec || "a spec");
}

function originText(origin) {
  if (origin.kind === "search" || origin.search_id) {
    return `search trial (<a href="#/search/${esc(origin.search_id)}">open the search</a>)`;
  }
  if (origin.kind === "scaling") {
    return `scaled from ${baseLink(origin.base)} at phi ${esc(origin.phi)} (${esc(origin.method)}: depth × ${
      fmt(origin.depth_mult, 2)}, width × ${fmt(origin.width_mult, 2)}, resolution ${esc(origin.resolution)})`;
  }
  if (origin.kind === "scaling-search") {
    return `chosen by <a href="#/scaling-search/${esc(origin.scaling_search_id)}">a scaling search</a> for ${
      baseLink(origin.base)} (alpha ${esc(origin.alpha)}, beta ${esc(origin.beta)}, gamma ${esc(origin.gamma)})`;
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

// The latencies users measured of it (python -m workers measure --architecture ID --service URL), each beside
// the architecture's own latency (predicted from a device profile, or measured by its search) as their ratio.
export function measurementsTable(a) {
  const rows = a.measurements || [];
  const how = `<p class="muted">Measure it on your device: <code>nas measure --architecture ${esc(a.id)} --service ${
    esc(window.location.origin)} --runtime eager|onnxruntime|int8 --threads N</code></p>`;
  if (!rows.length) return `<h3>Measured latency</h3><p class="muted" id="no-measurements">none yet</p>${how}`;
  const when = (t) => `${esc(String(t).replace("T", " ").slice(0, 16))} UTC`;
  return `<h3>Measured latency</h3><table class="data" id="measurements"><thead><tr><th>measured ms</th>
    <th>spread</th><th>runtime</th><th>threads</th><th>batch</th><th>device</th><th>measured at</th><th>source</th>
    <th title="the architecture's latency (${esc(a.latency_source || "its search's figure")}) over the measured one">
    ${a.latency_source && a.latency_source.startsWith("predicted") ? "predicted" : "search"} / measured</th></tr></thead><tbody>${
    rows.map((m) => `<tr><td class="num">${fmt(m.latency_ms, 3)}</td>
      <td class="num">${m.spread === null ? "—" : `${fmt(100 * m.spread, 1)}%`}</td><td>${esc(m.runtime)}</td>
      <td class="num">${esc(m.threads)}</td><td class="num">${esc(m.batch_size)}</td>
      <td>${esc((m.device || {}).cpu || (m.device || {}).name || "—")}</td><td>${when(m.measured_at)}</td>
      <td>${esc(m.source || "—")}</td><td class="num ratio">${fmt(m.ratio, 3)}</td></tr>`).join("")}</tbody></table>
    ${a.measurement_count > rows.length ? `<p class="muted">the newest ${rows.length} of ${a.measurement_count}:
      <code>GET ${esc(a.links.self)}/measurements</code></p>` : ""}${how}`;
}

// A trained detector's validation images with its predicted boxes (solid, with class and score) and the true
// ones (dashed), drawn as SVG over each image (GET /v1/architectures/{id}/boxes).
export function boxesHtml(preview) {
  const rect = (b, cls, text) => `<rect class="${cls}" x="${b.box[0]}" y="${b.box[1]}" width="${b.box[2] - b.box[0]}"
    height="${b.box[3] - b.box[1]}"><title>${esc(text)}</title></rect>${cls === "pred" ? `<text x="${b.box[0] + 1}"
    y="${Math.max(b.box[1] - 1, 6)}">${esc(text)}</text>` : ""}`;
  const s = preview.size;
  return preview.images.map((im, i) => `<figure class="box-figure"><svg viewBox="0 0 ${s} ${s}" width="${3 * s}"
    height="${3 * s}" role="img" aria-label="validation image ${i + 1}"><image href="${im.image}" width="${s}" height="${s}"/>
    ${im.truth.map((b) => rect(b, "truth", `true ${b.label}`)).join("")}
    ${im.predicted.map((b) => rect(b, "pred", `${b.label} ${b.score.toFixed(2)}`)).join("")}</svg>
    <figcaption>${im.predicted.length} predicted, ${im.truth.length} true</figcaption></figure>`).join("");
}

function detectorText(spec) {
  const h = spec.head;
  return `${esc(h.kind)} head (${h.kind === "yolox" ? `width ${h.width}, ${h.convs} convs per branch` : `extra layers ${
    esc((h.extra_chs || []).join(", "))}`}), neck ${esc(spec.neck.kind)}${spec.neck.width ? ` (width ${spec.neck.width})` : ""}, ${
    spec.num_classes} classes, maps at strides ${esc(spec.feature_strides.join(", "))}; the backbone:`;
}

export function render(root, id) {
  root.innerHTML = '<p class="muted">loading…</p>';
  let stopTraining = null;
  api(`/v1/architectures/${id}`).then((a) => {
    const spec = a.spec;
    const detector = Boolean(spec && spec.backbone);
    const metric = detector ? "mAP" : "accuracy";
    const trained = a.trained ? "trained " : "";
    root.innerHTML = `<h2>Architecture ${esc(a.name || id.slice(0, 8))}</h2>
      <dl class="summary"><dt>state</dt><dd>${a.state ? stateBadge(a.state) : "—"}</dd>
        <dt>proxy ${metric}</dt><dd id="accuracy">${fmt(a.accuracy)}</dd>
        <dt>test ${metric}</dt><dd id="full-accuracy">${a.trained ? `${fmt(a.test_accuracy)} (full fidelity)` : "— (not trained at full fidelity)"}</dd>
        <dt>params</dt><dd id="params" title="${a.params ?? ""}">${fmtCount(a.params)}</dd>
        <dt>MACs</dt><dd id="macs" title="${a.macs ?? ""}">${fmtCount(a.macs)}</dd>
        <dt>latency</dt><dd id="latency">${latencyText(a)}${a.latency_source ? `<br><span class="muted">${
          esc(a.latency_source)}</span>` : ""}</dd>
        <dt>resolution</dt><dd>${dash(a.resolution)}</dd>
        <dt>origin</dt><dd id="origin">${originText(a.origin || {})}${a.trial_number !== null ? `, trial ${a.trial_number}` : ""}</dd>
        ${a.error ? `<dt>error</dt><dd class="error">${esc(a.error)}</dd>` : ""}</dl>
      <p class="mono" id="spec-string">${esc(a.spec_string || "")}</p>
      <div id="measured">${measurementsTable(a)}</div>
      <div class="actions downloads">${spec ? `<a class="button" id="download-py" href="${a.links.code}" download>Download ${trained}.py</a>
        <a class="button" id="download-onnx" href="${a.links.onnx}" download>Download ${trained}ONNX</a>
        ${detector ? "" : `<a class="button" id="download-torchscript" href="${a.links.torchscript}" download>Download ${trained}TorchScript</a>`}
        <a class="button" id="download-weights" href="${a.links.weights}" download>Download ${trained}weights</a>
        <button id="download-json">Download JSON</button>` : '<span class="muted">no spec: nothing to download</span>'}</div>
      ${a.trained ? '<p class="muted" id="trained-note">The .py and the weights (.safetensors) need only torch: <code>load_model("..._trained.safetensors")</code>; inputs normalised with its INPUT_MEAN and INPUT_STD.</p>' : ""}
      ${trainedSummary(a)}
      ${detector && a.trained ? '<h3>Validation images</h3><p class="muted">The trained weights\' boxes (solid, with class and score) and the true ones (dashed).</p><div id="boxes" class="boxes"><p class="muted">loading…</p></div>' : ""}
      ${detector ? `<p id="detector">${detectorText(spec)}</p>` : ""}
      ${spec ? stageTable(spec.backbone || spec, !detector) : ""}
      ${spec && !detector ? '<div id="train-panel"></div><div id="scale-panel"></div>' : ""}`;
    trainedCurves(root.querySelector("#trained-curves"), a.trained, `validation ${metric}`);
    if (detector && a.trained) {
      api(`/v1/architectures/${id}/boxes`).then((preview) => { root.querySelector("#boxes").innerHTML = boxesHtml(preview); })
        .catch((err) => { root.querySelector("#boxes").innerHTML = `<p class="error">${esc(err.message)}</p>`; });
    }
    if (!spec) return;
    for (const link of root.querySelectorAll("a.button[download]")) {
      link.addEventListener("click", (e) => { // through the API client: with the key when reads need one
        e.preventDefault();
        download(link.getAttribute("href")).catch((err) => { link.title = err.message; });
      });
    }
    root.querySelector("#download-json").addEventListener("click", () => saveJson(
      `${(a.name || "architecture").replace(/[^A-Za-z0-9_-]+/g, "_")}_${id.slice(0, 8)}.json`, spec));
    if (detector) return; // a detector trains through its search's finalize, and is not scaled
    scalePanel(root.querySelector("#scale-panel"), { architecture_id: id });
    // once a training ends, the router renders the page again (stopping this one's polling)
    stopTraining = trainPanel(root.querySelector("#train-panel"), id,
      () => window.dispatchEvent(new HashChangeEvent("hashchange")));
  }).catch((err) => {
    root.innerHTML = `<p class="error">architecture ${esc(id)}: ${esc(err.message)}</p>`;
  });
  return () => { if (stopTraining) stopTraining(); };
}
