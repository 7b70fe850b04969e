// Forms built from a field list, with choices and defaults read from the service's OpenAPI document, and the
// API's 422 errors shown beside the field named in detail[i].loc.

import { ApiError } from "./api.js";
import { esc } from "./util.js";

let openapi = null;

async function schemas() {
  openapi ??= fetch("/openapi.json").then((r) => r.json()).then((doc) => doc.components.schemas);
  return openapi;
}

function deref(all, schema) {
  if (!schema) return {};
  if (schema.$ref) return deref(all, all[schema.$ref.split("/").pop()]);
  const inner = (schema.anyOf || []).find((s) => s.type !== "null");
  return inner ? { ...deref(all, inner), ...schema, anyOf: undefined } : schema;
}

// The JSON schema of `path` ("dataset.subset") inside the named model.
export async function fieldSchema(model, path) {
  const all = await schemas();
  let schema = all[model];
  for (const part of path.split(".")) schema = deref(all, (deref(all, schema).properties || {})[part]);
  return deref(all, schema);
}

// fields: [{path, label, kind: text|int|number|select|list-int|list-number|list-text|bool|json, help, empty, none,
// blank, value}] (`empty`: the value sent when the field is left empty; otherwise an empty field is left out and
// the API's default applies; `none`: a word that sends an empty list; `blank`: a select's first option, empty;
// `value: ""` starts the field empty instead of at the schema's default)
export async function buildForm(form, model, fields) {
  const rows = await Promise.all(fields.map(async (f) => {
    const schema = f.kind === "json" ? {} : await fieldSchema(model, f.path);
    const id = `f-${f.path.replace(/\./g, "-")}`;
    const value = f.value ?? schema.default;
    const title = esc(f.help ?? schema.description ?? "");
    let input;
    if (f.kind === "select") {
      const choices = schema.enum || [];
      const blank = f.blank === undefined ? "" : `<option value="" selected>${esc(f.blank)}</option>`;
      input = `<select id="${id}" name="${f.path}">${blank}${choices.map((c) => `<option${
        c === value && !blank ? " selected" : ""}>${esc(c)}</option>`).join("")}</select>`;
    } else if (f.kind === "bool") {
      input = `<input id="${id}" name="${f.path}" type="checkbox"${value ? " checked" : ""}>`;
    } else if (f.kind === "json") {
      input = `<textarea id="${id}" name="${f.path}" rows="2" placeholder='{"seed": 1}'></textarea>`;
    } else {
      const shown = Array.isArray(value) ? value.join(", ") : (value ?? "");
      input = `<input id="${id}" name="${f.path}" value="${esc(shown)}" placeholder="${
        esc(f.placeholder ?? (f.kind.startsWith("list") ? "comma-separated; empty: the skeleton's" : ""))}">`;
    }
    return `<div class="field" data-field="${f.path}"><label for="${id}" title="${title}">${esc(f.label ?? f.path)}</label>${
      input}<small class="field-error" data-error-for="${f.path}"></small></div>`;
  }));
  form.insertAdjacentHTML("afterbegin", rows.join(""));
}

function parseScalar(text, kind) {
  if (kind === "text" || kind === "list-text" || kind === "select") return text;
  const n = Number(text);
  return text !== "" && Number.isFinite(n) ? n : text; // a non-number goes as typed: the API names the field
}

function setPath(target, path, value) {
  const parts = path.split(".");
  let node = target;
  for (const part of parts.slice(0, -1)) node = node[part] ??= {};
  node[parts.at(-1)] = value;
}

function merge(into, extra) {
  for (const [k, v] of Object.entries(extra)) {
    if (v && typeof v === "object" && !Array.isArray(v) && into[k] && typeof into[k] === "object") merge(into[k], v);
    else into[k] = v;
  }
  return into;
}

// The request body: empty fields left out (the API's default applies); a JSON field merged over the rest.
export function readForm(form, fields) {
  const body = {};
  let extra = null;
  for (const f of fields) {
    const el = form.elements.namedItem(f.path);
    if (f.kind === "bool") {
      if (el.checked) setPath(body, f.path, true);
      continue;
    }
    const text = el.value.trim();
    if (text === "") {
      if (f.empty !== undefined) setPath(body, f.path, f.empty); // a field whose empty value means "none"
      continue;
    }
    if (f.none !== undefined && text === f.none) {
      setPath(body, f.path, []);
    } else if (f.kind === "json") {
      try {
        extra = JSON.parse(text);
      } catch (err) {
        throw new ApiError(422, { detail: [{ loc: ["body", f.path], msg: `not JSON: ${err.message}` }] });
      }
    } else if (f.kind.startsWith("list")) {
      setPath(body, f.path, text.split(",").map((s) => parseScalar(s.trim(), f.kind.slice(5))));
    } else {
      setPath(body, f.path, parseScalar(text, f.kind));
    }
  }
  return extra ? merge(body, extra) : body;
}

export function clearErrors(form) {
  form.querySelectorAll(".field-error, .form-error").forEach((el) => { el.textContent = ""; });
  form.querySelectorAll(".invalid").forEach((el) => el.classList.remove("invalid"));
}

// Each error beside the longest field path that prefixes its loc; the rest in the form's own error line.
export function showErrors(form, err) {
  const general = form.querySelector(".form-error");
  const details = err.fieldErrors;
  if (!details.length) {
    general.textContent = `${err.status ? `${err.status}: ` : ""}${err.message}`;
    return;
  }
  for (const d of details) {
    const loc = (d.loc || []).filter((p, i) => !(i === 0 && p === "body"));
    let target = null;
    for (let n = loc.length; n > 0 && !target; n--) {
      target = form.querySelector(`[data-error-for="${CSS.escape(loc.slice(0, n).join("."))}"]`);
    }
    const text = `${d.msg}${target ? "" : ` (${loc.join(".") || "body"})`}`;
    if (target) {
      target.textContent = target.textContent ? `${target.textContent}; ${text}` : text;
      target.closest(".field").classList.add("invalid");
    } else {
      general.textContent = general.textContent ? `${general.textContent}; ${text}` : text;
    }
  }
}
