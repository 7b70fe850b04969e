// The REST client of every page: JSON in and out, X-API-Key when the service asks for one.

const KEY = "nas-api-key";
let configPromise = null;

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

// Shows the key dialog; resolves with the key entered, or null when cancelled.
export function askKey(reason) {
  const dialog = document.getElementById("key-dialog");
  const input = document.getElementById("key-input");
  if (reason) document.getElementById("key-reason").textContent = reason;
  input.value = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      if (dialog.returnValue === "ok" && input.value) {
        sessionStorage.setItem(KEY, input.value);
        resolve(input.value);
      } else {
        resolve(null);
      }
    }, { once: true });
    dialog.showModal();
  });
}

export async function api(path, { method = "GET", body } = {}) {
  const headers = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  const key = storedKey();
  if (key) headers["X-API-Key"] = key;
  const response = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401 && await askKey("The service refused the request: enter its API key.")) {
    return api(path, { method, body });
  }
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
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
