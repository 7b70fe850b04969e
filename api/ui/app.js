// The router: #/ (searches), #/search/<id>, #/architecture/<id>, #/finalize/<id>, #/scaling-searches,
// #/scaling-searches/from/<architecture id> (the launch form on a found network), #/scaling-search/<id>, #/zoo, #/zoo/<name>, #/devices, #/device/<id>.

import { askKey, storedKey, uiConfig } from "./api.js";
import * as architecture from "./architecture.js";
import * as devices from "./devices.js";
import { loadKinds } from "./jobs.js";
import * as scaling from "./scaling.js";
import * as search from "./search.js";
import * as searches from "./searches.js";
import { renderFinalize } from "./trained.js";
import * as zoo from "./zoo.js";

const ROUTES = [
  [/^#?\/?$/, searches.render],
  [/^#\/search\/([0-9a-f-]+)$/, search.render],
  [/^#\/architecture\/([0-9a-f-]+)$/, architecture.render],
  [/^#\/finalize\/([0-9a-f-]+)$/, renderFinalize],
  [/^#\/scaling-searches$/, scaling.renderList],
  [/^#\/scaling-searches\/from\/([0-9a-f-]+)$/, scaling.renderList],
  [/^#\/scaling-search\/([0-9a-f-]+)$/, scaling.renderOne],
  [/^#\/zoo$/, zoo.renderList],
  [/^#\/zoo\/([A-Za-z0-9_.-]+)$/, zoo.renderOne],
  [/^#\/devices$/, devices.renderList],
  [/^#\/device\/([0-9a-f-]+)$/, devices.renderOne],
];
let cleanup = null;

function route() {
  if (cleanup) cleanup();
  cleanup = null;
  document.getElementById("tooltip").hidden = true;
  const root = document.getElementById("app");
  const hash = location.hash || "#/";
  for (const [pattern, page] of ROUTES) {
    const match = hash.match(pattern);
    if (match) {
      root.innerHTML = "";
      cleanup = page(root, ...match.slice(1)) || null;
      return;
    }
  }
  root.innerHTML = `<p class="error">No such page: ${hash.replace(/</g, "&lt;")}</p>`;
}

async function start() {
  await loadKinds(); // the job kinds and states, from the service's registry
  window.addEventListener("hashchange", route);
  const config = await uiConfig();
  if (config.read_key_required && !storedKey()) {
    // reads need the key too (NAS_READ_KEY): asked once, before the first page reads anything
    await askKey("This service needs a key (X-API-Key) to read, launch, cancel, delete and scale.");
  }
  route(); // otherwise reading needs no key: the page loads while the write key is asked for
  const button = document.getElementById("key-button");
  if (config.api_key_required) {
    button.hidden = false;
    button.addEventListener("click", () => askKey());
    if (!storedKey()) await askKey();
  }
}

start();
