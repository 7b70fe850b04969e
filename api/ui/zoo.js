// #/zoo: the reference networks, our counts beside the published ones; #/zoo/<name>: scale one.

import { api } from "./api.js";
import { scalePanel } from "./scale.js";
import { esc, fmt, fmtCount } from "./util.js";

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
  root.innerHTML = `<h2>${esc(name)}</h2><dl class="summary" id="zoo-summary"></dl><div id="scale-panel"></div>`;
  entries().then((rows) => {
    const z = rows.find((r) => r.name === name);
    if (!z) {
      root.innerHTML = `<p class="error">no zoo network ${esc(name)}</p>`;
      return;
    }
    root.querySelector("#zoo-summary").innerHTML = `<dt>resolution</dt><dd>${z.resolution}</dd>
      <dt>params</dt><dd>${fmtCount(z.params)}</dd><dt>MACs</dt><dd>${fmtCount(z.macs)}</dd>
      <dt>reference</dt><dd>${esc(z.reference_implementation || "—")}</dd>`;
    scalePanel(root.querySelector("#scale-panel"), { zoo: name });
  });
}
