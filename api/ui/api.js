// The REST client of every page: JSON in and out, X-API-Key when the service asks for one (NAS_API_KEY for
// writes, NAS_READ_KEY for reads too); downloads go through it as well, so they carry the key.

const KEY = "nas-api-key";
let configPromise = null;
let asking = null; // the key dialog while it is open: every request refused meanwhile waits for the same answer

export class ApiError extends Error {
  constructor(status, body) {
    const detail = body && body.detail;
    super(typeof detail === "string" ? detail : `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }

  // FastAPI's 422 list: [{loc: ["body", "n_trials"], msg}, ...]; [] for any other error.
  get fieldErrors() {
    return Array.isArray(this.body && this.body.detail) ? this.body.detail : [];
  }
}

export function uiConfig() {
  configPromise ??= fetch("/ui/config.json").then((r) => r.json());
  return configPromise;
}

export function storedKey() {
  return sessionStorage.getItem(KEY);
}

// Shows the key dialog (once, however many requests ask at the same time); resolves with the key entered, or
// null when cancelled.
export function askKey(reason) {
  asking ??= new Promise((resolve) => {
    const dialog = document.getElementById("key-dialog");
    const input = document.getElementById("key-input");
    if (reason) document.getElementById("key-reason").textContent = reason;
    input.value = "";
    dialog.addEventListener("close", () => {
      asking = null;
      if (dialog.returnValue === "ok" && input.value) {
        sessionStorage.setItem(KEY, input.value);
        resolve(input.value);
      } else {
        resolve(null);
      }
    }, { once: true });
    dialog.showModal();
  });
  return asking;
}

const REFUSED = "The service refused the request: enter its API key.";

// fetch() with the stored key; a 401 asks for the key and sends the request again with it.
async function keyed(path, init, accept) {
  const headers = { ...init.headers, accept };
  const key = storedKey();
  if (key) headers["X-API-Key"] = key;
  const response = await fetch(path, { ...init, headers });
  if (response.status === 401 && await askKey(REFUSED)) return keyed(path, init, accept);
  return response;
}

export async function api(path, { method = "GET", body } = {}) {
  const headers = body === undefined ? {} : { "content-type": "application/json" };
  const response = await keyed(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  }, "application/json");
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// Saves the file at `path` (a GET, with the key) under the name its Content-Disposition gives.
export async function download(path, fallbackName = "download") {
  const response = await keyed(path, {}, "*/*");
  if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
  const disposition = response.headers.get("content-disposition") || "";
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await response.blob());
  link.download = (/filename="([^"]+)"/.exec(disposition) || [])[1] || fallbackName;
  link.click();
  URL.revokeObjectURL(link.href);
}

// Every row of a paged list (`data`, `count`): the first page, then the rest in parallel.
export async function allPages(path, limit = 100) {
  const sep = path.includes("?") ? "&" : "?";
  const first = await api(`${path}${sep}skip=0&limit=${limit}`);
  const skips = [];
  for (let skip = limit; skip < first.count; skip += limit) skips.push(skip);
  const rest = await Promise.all(skips.map((skip) => api(`${path}${sep}skip=${skip}&limit=${limit}`)));
  return [first, ...rest].flatMap((page) => page.data);
}
