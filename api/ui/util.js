// Small helpers shared by the pages: HTML escaping, number formats, a progress bar.

export function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
  })[c]);
}

export function fmt(value, digits = 3) {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  return Number(value).toFixed(digits);
}

export function fmtCount(value) {
  if (value === null || value === undefined) return "—";
  const units = [[1e9, "G"], [1e6, "M"], [1e3, "k"]];
  for (const [size, unit] of units) {
    if (Math.abs(value) >= size) return `${(value / size).toPrecision(3)}${unit}`;
  }
  return String(value);
}

export function fmtSeconds(s) {
  if (s === null || s === undefined) return "—";
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

export function progressBar(progress) {
  const done = progress.complete + progress.pruned;
  const pct = progress.budget ? Math.min(100, (100 * done) / progress.budget) : 0;
  const extra = [progress.failed && `${progress.failed} failed`, progress.rejected && `${progress.rejected} rejected`]
    .filter(Boolean).join(", ");
  return `<div class="progress" title="${done} of ${progress.budget} trials" data-done="${done}"
    data-budget="${progress.budget}"><div style="width:${pct}%"></div><span>${done}/${progress.budget}${
    extra ? ` (${esc(extra)})` : ""}</span></div>`;
}

export function stateBadge(state) {
  return `<span class="state state-${esc(state).toLowerCase()}">${esc(state ?? "—")}</span>`;
}

// A repeating task that stops when the page is left (the router calls the returned cleanup).
export function poll(task, everyMs) {
  let timer = null;
  let stopped = false;
  const loop = async () => {
    try {
      const again = await task();
      if (again === false) return;
    } catch (err) {
      if (!stopped) console.error(err); // a page left while its request was out has nothing to show
    }
    if (!stopped) timer = setTimeout(loop, everyMs);
  };
  loop();
  return () => { stopped = true; clearTimeout(timer); };
}

// Save ``data`` as a pretty-printed JSON file named ``filename`` (a download made in the page: no request).
export function saveJson(filename, data) {
  const blob = new Blob([JSON.stringify(data, null, 2)], { type: "application/json" });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = filename;
  link.click();
  URL.revokeObjectURL(link.href);
}
