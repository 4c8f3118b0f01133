// History: the event log with provenance, filtered by node, actor, execution and
// time, each event with a link to the scene as it was right after it.

import { get, query, scenePath } from "../api.js";
import { field, h, link, replace, short, table, when, counted } from "../dom.js";

const FILTERS = [
  ["node", "Node", "shot-2"],
  ["actor", "Actor", "demo"],
  ["execution", "Execution", "id"],
  ["since", "Since (time)", "2026-11-01T00:00"],
  ["until", "Until (time)", ""],
];

export async function showHistory(main, scene, params) {
  const branch = params.get("branch") || "main";
  const asked = Object.fromEntries(FILTERS.map(([name]) => [name, params.get(name) || ""]));
  const after = Number(params.get("after") || 0);
  const limit = 200;
  const page = await get(`${scenePath(scene)}/history${query({ branch, ...asked, after_version: after || null, limit })}`);
  const inputs = FILTERS.map(([name, label, hint]) => [name, field(label, h("input", { name, value: asked[name], placeholder: hint, size: 14 }))]);
  const branchInput = h("input", { name: "branch", value: branch, size: 10 });
  const form = h("form", { class: "inline filters", "aria-label": "Filter the history" },
    field("Branch", branchInput), inputs.map(([, f]) => f), h("button", { type: "submit" }, "Filter"),
    link(`#/s/${encodeURIComponent(scene)}/history`, "Clear"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const wanted = { branch: branchInput.value.trim() };
    for (const [name, f] of inputs) wanted[name] = f.querySelector("input").value.trim();
    location.hash = `#/s/${encodeURIComponent(scene)}/history${query(wanted)}`;
  });
  const entries = page.entries;
  const last = entries.at(-1);
  const next = entries.length === limit && last
    ? link(`#/s/${encodeURIComponent(scene)}/history${query({ branch, ...asked, after: last.version })}`, "Later events →") : "";
  replace(main,
    h("h1", { tabindex: "-1" }, "History", h("span", { class: "sub" }, ` · ${scene} · ${branch}`)),
    form,
    table(`${counted(entries.length, "event")}${after ? ` after version ${after}` : ""}`, ["version", "time", "event", "what", "actor", "see"],
      entries.map((e) => historyRow(scene, branch, e)), { class: "history" }),
    h("nav", { class: "pager", "aria-label": "Pages of history" }, after ? link(`#/s/${encodeURIComponent(scene)}/history${query({ branch, ...asked })}`, "← First events") : "", " ", next));
}

export function historyRow(scene, branch, e) {
  const p = e.payload || {};
  const what = [p.node, p.prop && `${p.prop} = ${JSON.stringify(p.value)}`, p.task, p.summary, p.slot && `slot ${p.slot}`]
    .filter(Boolean).join(" · ");
  const sceneAt = `#/s/${encodeURIComponent(scene)}/tree${query({ branch: e.branch || branch, as_of: e.version })}`;
  return h("tr", { dataset: { version: e.version } },
    h("td", { class: "num" }, e.version), h("td", {}, when(e.recorded_at)), h("td", {}, e.type),
    h("td", { class: "what" }, what),
    h("td", {}, link(`#/s/${encodeURIComponent(scene)}/history${query({ branch, actor: e.actor })}`, e.actor, { "aria-label": `events by ${e.actor}` })),
    h("td", { class: "see" }, link(sceneAt, `scene as of v${e.version}`, { "aria-label": `scene as of version ${e.version}` }),
      e.intent_id ? [" · ", link(`#/s/${encodeURIComponent(scene)}/intent/${e.execution_id || "-"}${query({ intent: e.intent_id, branch: e.branch || branch })}`, `intent ${short(e.intent_id)}`, { class: "mono" })] : ""));
}
