// What every job kind shares in the pages: its states, its REST collection, and its cancel and delete buttons.
// The kinds and states come from the service's registry (/ui/config.json), not from this file.

import { api, uiConfig } from "./api.js";

export const JOB_STATES = [];
export const ACTIVE = new Set();
const PATHS = new Map(); // kind name -> REST collection

// Fills the states and kinds from the service's config; the router waits for it before the first page.
export async function loadKinds() {
  const config = await uiConfig();
  JOB_STATES.splice(0, JOB_STATES.length, ...config.job_states);
  config.active_states.forEach((s) => ACTIVE.add(s));
  config.kinds.forEach((k) => PATHS.set(k.name, k.path));
}

// The cancel (while queued or running) and delete (unless running) buttons of a job.
export function jobActions(job, { cancel = "cancel", remove = "delete", withId = false } = {}) {
  const id = withId ? ` data-id="${job.id}"` : "";
  return `${ACTIVE.has(job.state) ? `<button data-action="cancel"${id}>${cancel}</button>` : ""}${
    job.state !== "running" ? `<button data-action="delete"${id}>${remove}</button>` : ""}`;
}

// Runs a job button's action on the job of kind ``kind``: POST .../cancel or DELETE.
export function runAction(kind, id, action) {
  const path = `${PATHS.get(kind)}/${id}`;
  return api(action === "cancel" ? `${path}/cancel` : path, { method: action === "cancel" ? "POST" : "DELETE" });
}
