// #/devices: the uploaded device profiles (latency tables a search predicts latency from) and an upload form;
// #/device/<id>: one profile: the machine and runtime it was timed on, its correction, and its table.

import { api, ApiError } from "./api.js";
import { esc, fmt, fmtCount, saveJson } from "./util.js";

const PAGE = 20;
const ENTRIES = 100; // table rows shown at once on a profile's page

function machine(d) {
  return [d.cpu, d.machine, `${d.threads} of ${d.cores} threads`].filter(Boolean).map(esc).join(" · ");
}

function runtime(d) {
  return `${esc(d.runtime)}${d.runtime_version ? ` ${esc(d.runtime_version)}` : ""}, batch ${esc(d.batch_size)}`;
}

export function renderList(root) {
  root.innerHTML = `<h2>Device profiles</h2><div class="split"><div class="list-pane">
    <p class="muted">Latency tables timed on a target device (<code>nas profile</code>). A search whose
    <code>latency.device</code> names a profile's id predicts every candidate's latency from it instead of timing it
    on the workers.</p>
    <div class="toolbar"><span></span><span class="pager"><button id="prev">‹ newer</button><span id="page-info"></span>
    <button id="next">older ›</button></span></div>
    <table class="data" id="devices"><thead><tr><th>name</th><th>machine</th><th>runtime</th><th>entries</th>
    <th>reference ms</th><th>fitted on</th><th>uploaded</th></tr></thead><tbody></tbody></table></div>
    <form class="form-pane grid-form" id="upload"><h3>Upload a profile</h3>
    <div class="field"><label for="u-file">profile JSON</label><input type="file" id="u-file" name="file" accept=".json,application/json" required></div>
    <div class="field"><label for="u-name">name</label><input id="u-name" name="name" maxlength="100" placeholder="from the profile"></div>
    <p class="form-error" id="upload-error"></p><button type="submit" id="upload-button">Upload</button></form></div>`;
  let skip = 0;
  const body = root.querySelector("#devices tbody");

  async function refresh() {
    const page = await api(`/v1/devices?skip=${skip}&limit=${PAGE}`);
    body.innerHTML = page.data.length ? page.data.map((d) => `<tr data-id="${d.id}"><td><a href="#/device/${d.id}">${
      esc(d.name || d.id.slice(0, 8))}</a></td><td>${machine(d.device)}</td><td>${runtime(d.device)}</td>
      <td class="num">${fmtCount(d.num_entries)}</td><td class="num">${d.reference_ms ? fmt(d.reference_ms, 2) : "—"}</td>
      <td class="num">${esc(d.correction.fitted_on ?? 0)} networks</td><td>${esc(d.created_at.slice(0, 16).replace("T", " "))}</td></tr>`).join("")
      : `<tr><td colspan="7" class="muted">no profile yet: upload one</td></tr>`;
    root.querySelector("#page-info").textContent = page.count ? `${skip + 1}–${skip + page.data.length} of ${page.count}` : "";
    root.querySelector("#prev").disabled = skip === 0;
    root.querySelector("#next").disabled = skip + PAGE >= page.count;
  }

  root.querySelector("#prev").addEventListener("click", () => { skip = Math.max(0, skip - PAGE); refresh(); });
  root.querySelector("#next").addEventListener("click", () => { skip += PAGE; refresh(); });
  root.querySelector("#upload").addEventListener("submit", async (e) => {
    e.preventDefault();
    const error = root.querySelector("#upload-error");
    error.textContent = "";
    const file = root.querySelector("#u-file").files[0];
    let profile;
    try {
      profile = JSON.parse(await file.text());
    } catch (err) {
      error.textContent = `${file.name}: not JSON (${err.message})`;
      return;
    }
    const name = root.querySelector("#u-name").value.trim();
    try {
      const row = await api(`/v1/devices${name ? `?name=${encodeURIComponent(name)}` : ""}`, { method: "POST", body: profile });
      location.hash = `#/device/${row.id}`;
    } catch (err) {
      const fields = err instanceof ApiError ? err.fieldErrors : [];
      error.textContent = fields.length ? fields.map((f) => `${f.loc.slice(1).join(".")}: ${f.msg}`).join("; ") : err.message;
    }
  });
  refresh();
}

function correction(c) {
  const parts = c.per_part_ms ? ` + ${fmt(c.per_part_ms, 4)} ms × parts` : "";
  const power = c.exponent !== 1 ? `^${fmt(c.exponent, 3)}` : "";
  return `${fmt(c.scale, 3)} × (sum of entries${parts})${power} ${c.offset_ms < 0 ? "−" : "+"} ${fmt(Math.abs(c.offset_ms), 3)} ms,
    fitted on ${esc(c.fitted_on)} whole networks`;
}

export function renderOne(root, id) {
  root.innerHTML = `<h2>Device profile</h2><p class="muted">loading…</p>`;
  api(`/v1/devices/${id}`).then((p) => {
    const d = p.device;
    const entries = Object.entries(p.entries);
    root.innerHTML = `<h2 id="device-title">${esc(p.name || d.name || p.id)}</h2>
      <dl class="summary" id="device-summary"><dt>id</dt><dd><code>${esc(p.id)}</code> (a search's <code>latency.device</code>)</dd>
      <dt>machine</dt><dd>${machine(d)}</dd><dt>runtime</dt><dd>${runtime(d)}${d.torch ? `, torch ${esc(d.torch)}` : ""}</dd>
      <dt>timing</dt><dd>${esc(d.clock)} clock, quantile ${esc(d.quantile)} of the runs, calibration ${esc(d.calibration)}</dd>
      <dt>correction</dt><dd id="correction">predicted = ${correction(p.correction)}</dd>
      <dt>reference</dt><dd>${p.reference_ms ? `entries scaled to the reference networks' ${fmt(p.reference_ms, 2)} ms` : "entries as timed"}</dd>
      <dt>uploaded</dt><dd>${esc(p.created_at.slice(0, 19).replace("T", " "))}</dd></dl>
      <div class="actions"><button id="download-json">Download JSON</button><a class="button" href="#/devices">All profiles</a></div>
      <h3>Table <small class="muted" id="entry-count"></small></h3>
      <div class="toolbar"><input id="entry-filter" placeholder="filter the part keys (words, all must match)" size="40">
      <span class="pager"><button id="entries-prev">‹</button><span id="entry-page"></span><button id="entries-next">›</button></span></div>
      <table class="data" id="entries"><thead><tr><th>part</th><th>ms</th><th>spread ms</th><th>repeats</th></tr></thead>
      <tbody></tbody></table>`;
    let shown = entries;
    let skip = 0;
    const renderEntries = () => {
      root.querySelector("#entries tbody").innerHTML = shown.slice(skip, skip + ENTRIES).map(([key, e]) => `<tr><td><code>${
        esc(key)}</code></td><td class="num">${fmt(e.ms, 4)}</td><td class="num">${fmt(e.spread_ms, 4)}</td>
        <td class="num">${esc(e.repeats)}</td></tr>`).join("");
      root.querySelector("#entry-count").textContent = `${shown.length} of ${entries.length} parts`;
      root.querySelector("#entry-page").textContent = shown.length ? `${skip + 1}–${Math.min(skip + ENTRIES, shown.length)}` : "none";
      root.querySelector("#entries-prev").disabled = skip === 0;
      root.querySelector("#entries-next").disabled = skip + ENTRIES >= shown.length;
    };
    root.querySelector("#entry-filter").addEventListener("input", (e) => {
      const words = e.target.value.toLowerCase().split(/\s+/).filter(Boolean);
      shown = entries.filter(([key]) => words.every((w) => key.toLowerCase().includes(w)));
      skip = 0;
      renderEntries();
    });
    root.querySelector("#entries-prev").addEventListener("click", () => { skip = Math.max(0, skip - ENTRIES); renderEntries(); });
    root.querySelector("#entries-next").addEventListener("click", () => { skip += ENTRIES; renderEntries(); });
    root.querySelector("#download-json").addEventListener("click", () => saveJson(`${p.name || p.id}.json`, {
      device: p.device, correction: p.correction, reference_ms: p.reference_ms, entries: p.entries }));
    renderEntries();
  }).catch((err) => {
    root.innerHTML = `<p class="error">device profile ${esc(id)}: ${esc(err.message)}</p>`;
  });
}
