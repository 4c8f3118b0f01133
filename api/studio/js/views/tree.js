// A scene's tree: every node with its props and who set each (intent, actor,
// transform), now or as of a version or a moment. Large scenes render a page of rows
// at a time, and a node's props are drawn when it is opened.

import { get, query, scenePath } from "../api.js";
import { badge, field, h, link, replace, short, value, counted } from "../dom.js";

const PAGE = 150;

export async function showTree(main, scene, params) {
  const branch = params.get("branch") || "main";
  const asOf = params.get("as_of") || "";
  const state = await get(`${scenePath(scene)}${query({ branch, as_of: asOf })}`);
  const depth = new Map();
  for (const node of state.nodes) depth.set(node.id, node.parent ? (depth.get(node.parent) ?? 0) + 1 : 0);
  const list = h("ul", { class: "tree", "aria-label": `Nodes of ${scene}` });
  const more = h("button", { type: "button", class: "more" });
  let shown = 0;
  const showMore = () => {
    const next = state.nodes.slice(shown, shown + PAGE);
    for (const node of next) list.append(nodeRow(scene, node, depth.get(node.id)));
    shown += next.length;
    more.hidden = shown >= state.nodes.length;
    more.textContent = `Show ${Math.min(PAGE, state.nodes.length - shown)} more of ${counted(state.nodes.length - shown, "node")}`;
  };
  more.addEventListener("click", () => {
    const before = shown;
    showMore();
    list.children[before]?.querySelector("summary")?.focus();
  });
  showMore();
  replace(main,
    h("h1", { tabindex: "-1" }, `${state.title || scene}`, h("span", { class: "sub" }, ` tree · ${branch} @ v${state.version}`)),
    h("p", { class: "facts" },
      `${counted(state.nodes.length, "node")} · ${counted(state.executions, "execution")} · `,
      state.open_conflicts ? link(`#/s/${encodeURIComponent(scene)}/branches?branch=${branch}`, counted(state.open_conflicts, "open conflict"), { class: "warn" }) : "no open conflicts",
      state.parent_branch ? ` · forked from ${state.parent_branch}@${state.fork_version}` : ""),
    asOfForm(scene, branch, asOf),
    list, more);
}

function asOfForm(scene, branch, asOf) {
  const branchInput = h("input", { name: "branch", value: branch, size: 12 });
  const at = h("input", { name: "as_of", value: asOf, size: 24, placeholder: "head, 12, or 2026-11-22T03:00:00Z" });
  const form = h("form", { class: "inline", "aria-label": "Show the scene as of" },
    field("Branch", branchInput), field("As of version or time", at),
    h("button", { type: "submit" }, "Show"),
    asOf ? link(`#/s/${encodeURIComponent(scene)}/tree${query({ branch })}`, "Back to head") : "");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    location.hash = `#/s/${encodeURIComponent(scene)}/tree${query({ branch: branchInput.value.trim(), as_of: at.value.trim() })}`;
  });
  return form;
}

function nodeRow(scene, node, depth) {
  const props = Object.entries(node.props);
  const gist = props.slice(0, 3).map(([k, p]) => `${k}=${clip(value(p.value))}`).join("  ");
  const slots = Object.entries(node.slots).filter(([, b]) => b.length);
  const details = h("details", { class: "node", dataset: { node: node.id } },
    h("summary", {}, badge(node.kind, "kind"), " ", h("strong", {}, node.id),
      slots.length ? h("span", { class: "slots" }, ` ${slots.length} slot${slots.length > 1 ? "s" : ""}`) : "",
      h("span", { class: "gist" }, gist)));
  details.addEventListener("toggle", () => {
    if (details.open && details.children.length === 1) details.append(nodeBody(scene, node, props, slots));
  }, { once: false });
  return h("li", { style: `--depth:${depth}` }, details);
}

function clip(text) {
  return text.length > 40 ? `${text.slice(0, 39)}…` : text;
}

function who(scene, provenance) {
  if (!provenance) return ["—", "—", "—"];
  const intent = link(`#/s/${encodeURIComponent(scene)}/intent/${provenance.execution_id}${query({ intent: provenance.intent_id, branch: provenance.branch })}`,
    short(provenance.intent_id), { "aria-label": `intent ${provenance.intent_id}`, class: "mono" });
  return [intent, provenance.actor, `${provenance.transform}@${provenance.transform_version}`];
}

function nodeBody(scene, node, props, slots) {
  const rows = props.map(([name, prop]) => h("tr", {},
    h("th", { scope: "row" }, name), h("td", { class: "value" }, value(prop.value)),
    ...who(scene, prop.provenance).map((cell) => h("td", {}, cell)),
    h("td", {}, `v${prop.provenance.version}`)));
  rows.push(h("tr", { class: "muted" }, h("th", { scope: "row" }, "(placed)"),
    h("td", {}, `under ${node.parent || "—"} at ${node.order}`),
    ...who(scene, node.placed).map((cell) => h("td", {}, cell)), h("td", {}, `v${node.placed.version}`)));
  for (const [slot, bindings] of slots) {
    const current = bindings[bindings.length - 1];
    rows.push(h("tr", {}, h("th", { scope: "row" }, `slot ${slot}`),
      h("td", {}, link(`#/artifacts/${current.artifact}`, `artifact ${short(current.artifact, 12)}`, { "aria-label": `lineage of ${slot} artifact`, class: "mono" })),
      ...who(scene, current.provenance).map((cell) => h("td", {}, cell)), h("td", {}, `v${current.provenance.version}`)));
  }
  return h("table", { class: "props" },
    h("caption", { class: "sr-only" }, `Props of ${node.id} and who set each`),
    h("thead", {}, h("tr", {}, ["prop", "value", "intent", "actor", "transform", "version"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, rows));
}
