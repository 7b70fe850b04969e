// #/zoo: the reference networks, our counts beside the published ones; #/zoo/<name>: one network stage by
// stage, its downloads, and scaling it.

import { api, download } from "./api.js";
import { scalePanel } from "./scale.js";
import { stageTable } from "./architecture.js";
import { esc, fmt, fmtCount, saveJson } from "./util.js";

let zoo = null;

function entries() {
  zoo ??= api("/v1/zoo").then((page) => page.data);
  return zoo;
}

export function renderList(root) {
  root.innerHTML = `<h2>Zoo</h2><p class="muted">Reference networks (usable as a scaling base by name): our analytic
    counts, the reference implementation's and the published figures.</p><table class="data" id="zoo"><thead><tr>
    <th>network</th><th>resolution</th><th>params</th><th>MACs</th><th>reference MACs</th><th>deviation</th>
    <th>published params</th><th>published MACs</th></tr></thead><tbody></tbody></table>`;
  entries().then((rows) => {
    root.querySelector("#zoo tbody").innerHTML = rows.map((z) => `<tr><td><a href="#/zoo/${esc(z.name)}">${esc(z.name)}</a></td>
      <td>${z.resolution}</td><td class="num">${fmtCount(z.params)}</td><td class="num">${fmtCount(z.macs)}</td>
      <td class="num">${fmtCount(z.reference_macs)}</td><td class="num">${z.macs_deviation_pct === null ? "—" : `${fmt(z.macs_deviation_pct, 2)} %`}</td>
      <td class="num">${fmtCount(z.published_params)}</td>
      <td class="num">${fmtCount(z.published_macs)}</td></tr>`).join("");
  });
}

export function renderOne(root, name) {
  root.innerHTML = `<h2>${esc(name)}</h2><p class="muted">loading…</p>`;
  api(`/v1/zoo/${encodeURIComponent(name)}`).then((z) => {
    root.innerHTML = `<h2>${esc(z.name)}</h2><dl class="summary" id="zoo-summary"><dt>resolution</dt><dd>${z.resolution}</dd>
      <dt>params</dt><dd>${fmtCount(z.params)} (published ${fmtCount(z.published_params)})</dd>
      <dt>MACs</dt><dd>${fmtCount(z.macs)} (published ${fmtCount(z.published_macs)})</dd>
      <dt>reference</dt><dd>${esc(z.reference_implementation || "—")}</dd></dl>
      <div class="actions downloads"><a class="button" id="download-py" href="/v1/zoo/${encodeURIComponent(z.name)}/code" download>Download .py</a>
        <button id="download-json">Download JSON</button></div>
      ${stageTable(z.spec)}<div id="scale-panel"></div>`;
    root.querySelector("#download-py").addEventListener("click", (e) => { // with the key when reads need one
      e.preventDefault();
      download(e.currentTarget.getAttribute("href")).catch((err) => { e.currentTarget.title = err.message; });
    });
    root.querySelector("#download-json").addEventListener("click", () => saveJson(`${z.name}.json`, z.spec));
    scalePanel(root.querySelector("#scale-panel"), { zoo: z.name });
  }).catch((err) => {
    root.innerHTML = `<p class="error">zoo network ${esc(name)}: ${esc(err.message)}</p>`;
  });
}
