// One intent: what was asked, by whom, and every event it caused (its execution's
// history), with a link to the execution when it started one.

import { get, query, scenePath } from "../api.js";
import { h, link, replace, short, table, when, counted } from "../dom.js";
import { historyRow } from "./history.js";

export async function showIntent(main, scene, execution, params) {
  const branch = params.get("branch") || "main";
  const intentId = params.get("intent");
  const entries = execution && execution !== "-"
    ? (await get(`${scenePath(scene)}/history${query({ branch, execution, limit: 2000 })}`)).entries
    : [];
  const accepted = entries.find((e) => e.type === "IntentAccepted" && (!intentId || e.intent_id === intentId)) || entries[0];
  const started = entries.some((e) => e.type === "ExecutionStarted");
  const asked = accepted?.type === "IntentAccepted" ? accepted.payload : null;
  replace(main,
    h("h1", { tabindex: "-1" }, "Intent ", h("span", { class: "mono" }, short(intentId || accepted?.intent_id, 12))),
    h("dl", { class: "facts-list card" },
      h("dt", {}, "Asked"), h("dd", { class: "asked" }, asked ? `${asked.kind}: ${asked.text || asked.summary}` : "(no record on this branch)"),
      h("dt", {}, "By"), h("dd", {}, accepted?.actor || "—"),
      h("dt", {}, "When"), h("dd", {}, when(accepted?.recorded_at)),
      h("dt", {}, "Branch"), h("dd", {}, branch),
      h("dt", {}, "Execution"), h("dd", {}, started ? link(`#/s/${encodeURIComponent(scene)}/executions/${execution}${query({ branch })}`, short(execution), { class: "mono" }) : "none (it changed the scene directly)")),
    table(`${counted(entries.length, "event")} it caused`, ["version", "time", "event", "what", "actor", "see"], entries.map((e) => historyRow(scene, branch, e))));
}
