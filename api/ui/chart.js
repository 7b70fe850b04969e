// Plain-SVG charts (no library): a scatter with a highlighted front, lines against phi, and many overlaid curves.

import { esc, fmtCount } from "./util.js";

const W = 720;
const HEIGHT = 380;
const M = { left: 64, right: 16, top: 16, bottom: 44 };

function scale([lo, hi], [a, b], log) {
  const f = log ? Math.log10 : (v) => v;
  let l = f(lo);
  let h = f(hi);
  if (h === l) { l -= 0.5; h += 0.5; }
  return (v) => a + ((f(v) - l) / (h - l)) * (b - a);
}

function extent(values, log) {
  const vs = values.filter((v) => Number.isFinite(v) && (!log || v > 0));
  if (!vs.length) return [0, 1];
  let lo = Math.min(...vs);
  let hi = Math.max(...vs);
  const pad = log ? 1.15 : (hi - lo || Math.abs(hi) || 1) * 0.06;
  return log ? [lo / pad, hi * pad] : [lo - pad, hi + pad];
}

function ticks([lo, hi], log) {
  if (log) {
    const out = [];
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
      for (const m of [1, 2, 5]) {
        const v = m * 10 ** e;
        if (v >= lo && v <= hi) out.push(v);
      }
    }
    return out.length >= 3 ? out : ticks([lo, hi], false).filter((v) => v > 0); // a narrow range: linear ticks
  }
  const step0 = (hi - lo) / 6;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step0);
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function tickLabel(v) {
  return Math.abs(v) >= 1000 ? fmtCount(v) : String(Number(v.toPrecision(3)));
}

function axes(xd, yd, sx, sy, opts, H) {
  const parts = [];
  for (const t of ticks(xd, opts.xLog)) {
    const x = sx(t);
    parts.push(`<line class="grid" x1="${x}" x2="${x}" y1="${M.top}" y2="${H - M.bottom}"/>`,
      `<text class="tick" x="${x}" y="${H - M.bottom + 16}" text-anchor="middle">${tickLabel(t)}</text>`);
  }
  for (const t of ticks(yd, opts.yLog)) {
    const y = sy(t);
    parts.push(`<line class="grid" x1="${M.left}" x2="${W - M.right}" y1="${y}" y2="${y}"/>`,
      `<text class="tick" x="${M.left - 6}" y="${y + 4}" text-anchor="end">${tickLabel(t)}</text>`);
  }
  parts.push(`<text class="axis-label" x="${(M.left + W - M.right) / 2}" y="${H - 6}" text-anchor="middle">${
    esc(opts.xLabel)}</text>`, `<text class="axis-label" transform="translate(14 ${(M.top + H - M.bottom) / 2}) rotate(-90)"
    text-anchor="middle">${esc(opts.yLabel)}</text>`);
  return parts.join("");
}

// Shows `label` of the element under the pointer that carries data-label, in the page's tooltip.
function hover(container) {
  const tip = document.getElementById("tooltip");
  container.addEventListener("mouseover", (e) => {
    const el = e.target.closest("[data-label]");
    if (!el) return;
    tip.textContent = el.dataset.label;
    tip.hidden = false;
  });
  container.addEventListener("mousemove", (e) => {
    tip.style.left = `${e.clientX + 12}px`;
    tip.style.top = `${e.clientY + 12}px`;
  });
  container.addEventListener("mouseout", (e) => {
    if (e.target.closest("[data-label]")) tip.hidden = true;
  });
}

// A reference point: a labelled diamond (outlined grey when the front dominates it).
function refMark(p, sx, sy) {
  const x = sx(p.x).toFixed(1);
  const y = sy(p.y).toFixed(1);
  const left = x > W - M.right - 140; // near the right edge: the label goes to the left of the mark
  return `<g class="ref${p.dominated ? " dominated" : ""}" data-id="${esc(p.id)}" data-name="${esc(p.name)}" data-label="${
    esc(p.label)}"><rect x="${x - 5}" y="${y - 5}" width="10" height="10" transform="rotate(45 ${x} ${y})"/><text class="ref-label" x="${
    Number(x) + (left ? -9 : 9)}" y="${Number(y) - 7}" text-anchor="${left ? "end" : "start"}">${esc(p.name)}</text></g>`;
}

// points: [{x, y, id, label, front}]; the front is drawn on top and joined by a step line.
// opts.refs: [{x, y, id, name, label, dominated}] reference points (baselines), drawn labelled above the rest.
export function scatter(container, points, opts) {
  const H = opts.height || HEIGHT;
  const refs = opts.refs || [];
  const xd = extent([...points, ...refs].map((p) => p.x), opts.xLog);
  const yd = extent([...points, ...refs].map((p) => p.y), false);
  const sx = scale(xd, [M.left, W - M.right], opts.xLog);
  const sy = scale(yd, [H - M.bottom, M.top], false);
  const dot = (p) => `<circle class="pt${p.front ? " front" : ""}" cx="${sx(p.x).toFixed(1)}" cy="${
    sy(p.y).toFixed(1)}" r="${p.front ? 6 : 4.5}" data-id="${esc(p.id)}" data-label="${esc(p.label)}"/>`;
  const front = points.filter((p) => p.front).sort((a, b) => a.x - b.x);
  let path = "";
  front.forEach((p, i) => {
    path += i === 0 ? `M${sx(p.x)},${sy(p.y)}` : `H${sx(p.x)}V${sy(p.y)}`;
  });
  container.innerHTML = `<svg viewBox="0 0 ${W} ${H}" class="chart" role="img" aria-label="${esc(opts.yLabel)} against ${
    esc(opts.xLabel)}">${axes(xd, yd, sx, sy, opts, H)}${path ? `<path class="front-line" d="${path}"/>` : ""}${
    points.filter((p) => !p.front).map(dot).join("")}${front.map(dot).join("")}${
    refs.map((p) => refMark(p, sx, sy)).join("")}</svg>`;
  if (!container.dataset.wired) {
    container.dataset.wired = "1";
    hover(container);
    container.addEventListener("click", (e) => {
      const el = e.target.closest("circle[data-id], g.ref[data-id]");
      if (el && opts.onClick) opts.onClick(el.dataset.id);
    });
  }
}

// series: [{name, cls, points: [{x, y, label}]}]; opts.xLog / opts.yLog: logarithmic axes
export function lines(container, series, opts) {
  const H = opts.height || HEIGHT;
  const all = series.flatMap((s) => s.points);
  const xd = extent(all.map((p) => p.x), opts.xLog);
  const yd = extent(all.map((p) => p.y), opts.yLog);
  const sx = scale(xd, [M.left, W - M.right], opts.xLog);
  const sy = scale(yd, [H - M.bottom, M.top], opts.yLog);
  const body = series.map((s, i) => {
    const pts = s.points.filter((p) => Number.isFinite(p.y) && Number.isFinite(p.x));
    const d = pts.map((p, j) => `${j ? "L" : "M"}${sx(p.x)},${sy(p.y)}`).join("");
    return `<g class="series series-${i}"><path d="${d}"/>${pts.map((p) => `<circle cx="${sx(p.x)}" cy="${
      sy(p.y)}" r="4" data-label="${esc(`${s.name}: ${p.label}`)}"/>`).join("")}<text class="legend" x="${
      M.left + 10}" y="${M.top + 14 + 16 * i}">● ${esc(s.name)}</text></g>`;
  }).join("");
  container.innerHTML = `<svg viewBox="0 0 ${W} ${H}" class="chart">${axes(xd, yd, sx, sy, opts, H)}${body}</svg>`;
  if (!container.dataset.wired) {
    container.dataset.wired = "1";
    hover(container);
  }
}

// Many overlaid curves (learning curves: one per trial): thin and faded, the highlighted ones drawn on top.
// curves: [{points: [{x, y}], label, highlight}]
export function curves(container, all, opts) {
  const H = opts.height || HEIGHT;
  const pts = all.flatMap((c) => c.points);
  const xd = extent(pts.map((p) => p.x), false);
  const yd = extent(pts.map((p) => p.y), false);
  const sx = scale(xd, [M.left, W - M.right], false);
  const sy = scale(yd, [H - M.bottom, M.top], false);
  // a curve of one point (one epoch) is a dot, which a path would not show
  const path = (c) => `<path class="curve${c.highlight ? " highlight" : ""}" data-label="${esc(c.label)}" d="${
    c.points.map((p, j) => `${j ? "L" : "M"}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join("")}"/>${
    c.points.length === 1 ? `<circle class="curve-dot${c.highlight ? " highlight" : ""}" cx="${sx(c.points[0].x).toFixed(1)}" cy="${
      sy(c.points[0].y).toFixed(1)}" r="4" data-label="${esc(c.label)}"/>` : ""}`;
  container.innerHTML = `<svg viewBox="0 0 ${W} ${H}" class="chart" role="img" aria-label="${esc(opts.yLabel)} against ${
    esc(opts.xLabel)}">${axes(xd, yd, sx, sy, opts, H)}${all.filter((c) => !c.highlight).map(path).join("")}${
    all.filter((c) => c.highlight).map(path).join("")}</svg>`;
  if (!container.dataset.wired) {
    container.dataset.wired = "1";
    hover(container);
  }
}

// Parallel coordinates: a vertical axis per entry of `axes`, a polyline per row across them, the highlighted rows
// drawn on top. An axis is {label, categories: [...]} (its values evenly spaced, first at the bottom) or
// {label, log} (numeric, its extent from the rows). rows: [{values: [one per axis], id, label, highlight}].
export function parallel(container, axes, rows, opts) {
  const H = opts.height || 340;
  const top = 34;
  const bottom = H - 16;
  const left = 56;
  const right = W - 40;
  const xs = axes.map((_, i) => (axes.length === 1 ? (left + right) / 2 : left + (i * (right - left)) / (axes.length - 1)));
  const domains = axes.map((axis, i) => (axis.categories ? null : extent(rows.map((r) => r.values[i]), axis.log)));
  const ys = axes.map((axis, i) => {
    if (!axis.categories) return scale(domains[i], [bottom, top], axis.log);
    const n = axis.categories.length;
    return (v) => {
      const k = axis.categories.indexOf(v);
      if (k < 0) return NaN;
      return n === 1 ? (top + bottom) / 2 : bottom - (k * (bottom - top)) / (n - 1);
    };
  });
  const tickMarks = (axis, i) => (axis.categories
    ? axis.categories.map((v) => [ys[i](v), String(v)])
    : ticks(domains[i], axis.log).map((v) => [ys[i](v), tickLabel(v)]));
  const axisSvg = axes.map((axis, i) => `<g class="pc-axis" data-axis="${esc(axis.label)}"><line x1="${xs[i]}" x2="${xs[i]}" y1="${
    top}" y2="${bottom}"/><text class="axis-label" x="${xs[i]}" y="${top - 14}" text-anchor="middle">${esc(axis.label)}</text>${
    tickMarks(axis, i).map(([y, text]) => `<text class="tick" x="${xs[i] - 4}" y="${y.toFixed(1)}" dy="4" text-anchor="end">${
      esc(text)}</text>`).join("")}</g>`).join("");
  const line = (r) => {
    const pts = r.values.map((v, i) => [xs[i], ys[i](v)]);
    if (pts.some(([, y]) => !Number.isFinite(y))) return "";
    return `<path class="pc-line${r.highlight ? " highlight" : ""}" data-id="${esc(r.id)}" data-label="${esc(r.label)}" d="${
      pts.map(([x, y], j) => `${j ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)}`).join("")}"/>`;
  };
  container.innerHTML = `<svg viewBox="0 0 ${W} ${H}" class="chart" role="img" aria-label="${esc(opts.label || "parallel coordinates")}">${
    rows.filter((r) => !r.highlight).map(line).join("")}${rows.filter((r) => r.highlight).map(line).join("")}${axisSvg}</svg>`;
  if (!container.dataset.wired) {
    container.dataset.wired = "1";
    hover(container);
    container.addEventListener("click", (e) => {
      const el = e.target.closest("path[data-id]");
      if (el && opts.onClick) opts.onClick(el.dataset.id);
    });
  }
}
