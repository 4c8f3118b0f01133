// Branches: the graph of forks and merges, a diff of any two branches or versions,
// and a branch's open conflicts with ours / theirs / new-value buttons.

import { get, post, query, scenePath } from "../api.js";
import { field, h, replace, short, table, value, counted } from "../dom.js";
import { say } from "../main.js";
import { s } from "../svg.js";

export async function showBranches(main, scene, params) {
  const at = scenePath(scene);
  const { branches } = await get(`${at}/branches`);
  const chosen = params.get("branch") || (branches.find((b) => b.open_conflicts)?.name ?? "main");
  const conflictsBox = h("section", { "aria-labelledby": "conflicts-title" });
  const diffBox = h("div", { class: "diff" });
  replace(main,
    h("h1", { tabindex: "-1" }, "Branches", h("span", { class: "sub" }, ` · ${scene}`)),
    h("section", { "aria-labelledby": "graph-title" }, h("h2", { id: "graph-title" }, "Forks and merges"),
      branchGraph(scene, branches),
      table("Every branch", ["branch", "parent", "fork point", "head", "merges in", "open conflicts"],
        branches.map((b) => h("tr", {}, h("th", { scope: "row" }, b.name), h("td", {}, b.parent || "—"),
          h("td", {}, b.parent ? `${b.parent}@${b.fork_version}` : "—"), h("td", {}, `v${b.head_version}`),
          h("td", {}, b.merges.map((m) => `${m.source}@${m.source_version} → v${m.version}`).join(", ") || "—"),
          h("td", { class: "num" }, b.open_conflicts))))),
    h("section", { "aria-labelledby": "diff-title" }, h("h2", { id: "diff-title" }, "Compare"),
      diffForm(at, branches, diffBox), diffBox),
    conflictsBox);
  await showConflicts(conflictsBox, at, chosen, branches, () => showBranches(main, scene, params));
}

function branchGraph(scene, branches) {
  const lane = new Map(branches.map((b, i) => [b.name, i]));
  const offset = new Map();
  const startOf = (b) => {
    if (offset.has(b.name)) return offset.get(b.name);
    const parent = branches.find((p) => p.name === b.parent);
    const o = parent ? startOf(parent) + b.fork_version : 0;
    offset.set(b.name, o);
    return o;
  };
  branches.forEach(startOf);
  const end = Math.max(1, ...branches.map((b) => startOf(b) + b.head_version));
  const W = 860, L = 110, R = 20, ROW = 44;
  const x = (b, v) => L + ((startOf(b) + v) / end) * (W - L - R);
  const y = (name) => 24 + lane.get(name) * ROW;
  const parts = [];
  for (const b of branches) {
    parts.push(s("a", { href: `#/s/${encodeURIComponent(scene)}/tree?branch=${encodeURIComponent(b.name)}`, "aria-label": `tree of branch ${b.name}` },
      s("text", { x: 6, y: y(b.name) + 4, class: "label link" }, b.name)));
    parts.push(s("line", { x1: x(b, 0), y1: y(b.name), x2: x(b, b.head_version), y2: y(b.name), class: `lane${b.name === "main" ? " main" : ""}` }));
    parts.push(s("circle", { cx: x(b, b.head_version), cy: y(b.name), r: 5, class: "head" }, s("title", {}, `${b.name} head v${b.head_version}`)));
    const parent = branches.find((p) => p.name === b.parent);
    if (parent) {
      parts.push(s("path", { d: `M${x(parent, b.fork_version)},${y(parent.name)} C${x(parent, b.fork_version) + 20},${y(parent.name)} ${x(b, 0) - 10},${y(b.name)} ${x(b, 0) + 10},${y(b.name)}`, class: "fork" },
        s("title", {}, `${b.name} forked from ${parent.name}@${b.fork_version}`)));
    }
    for (const m of b.merges) {
      const source = branches.find((p) => p.name === m.source);
      if (!source) continue;
      parts.push(s("path", { d: `M${x(source, m.source_version)},${y(source.name)} L${x(b, m.version)},${y(b.name)}`, class: "merge", "marker-end": "url(#arrow)" },
        s("title", {}, `${m.source}@${m.source_version} merged into ${b.name} at v${m.version}`)));
    }
  }
  const height = branches.length * ROW + 20;
  const label = branches.map((b) => (b.parent ? `${b.name} forked from ${b.parent} at ${b.fork_version}` : `${b.name} at v${b.head_version}`)).join("; ");
  return s("svg", { viewBox: `0 0 ${W} ${height}`, class: "branch-graph", role: "img", "aria-label": `Branch graph: ${label}` },
    s("defs", {}, s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
      s("path", { d: "M0,0 L10,5 L0,10 z", class: "arrowhead" }))),
    parts);
}

function diffForm(at, branches, box) {
  const names = branches.map((b) => b.name);
  const list = h("datalist", { id: "refs" }, names.map((n) => h("option", { value: n })));
  const old = h("input", { name: "old", list: "refs", value: names.includes("main") ? "main" : names[0], required: true, placeholder: "main or main@3" });
  const neu = h("input", { name: "new", list: "refs", value: names.find((n) => n !== "main") || "main", required: true, placeholder: "storm" });
  const form = h("form", { class: "inline", "aria-label": "Compare two branches or versions" },
    list, field("From (branch or branch@version)", old), field("To", neu), h("button", { type: "submit" }, "Show differences"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const diff = await get(`${at}/diff${query({ old: old.value.trim(), new: neu.value.trim() })}`);
      const rows = diff.changes.map((c) => h("tr", {}, h("td", {}, c.node), h("td", {}, c.field),
        h("td", { class: "old" }, value(c.old)), h("td", { class: "new" }, value(c.new)),
        h("td", {}, c.new_provenance ? `${c.new_provenance.actor} (${c.new_provenance.transform})` : "—")));
      replace(box, rows.length ? table(`${diff.old} (v${diff.old_version}) → ${diff.new} (v${diff.new_version}): ${counted(rows.length, "difference")}`,
        ["node", "field", diff.old, diff.new, "set by"], rows) : h("p", { role: "status" }, `No differences between ${diff.old} and ${diff.new}.`));
    } catch (err) { say(`Cannot compare: ${err.message}`); }
  });
  return form;
}

async function showConflicts(box, at, branch, branches, again) {
  const { conflicts } = await get(`${at}/conflicts${query({ branch })}`);
  const pick = h("select", { id: "conflict-branch" }, branches.map((b) => h("option", { value: b.name, selected: b.name === branch }, `${b.name} (${b.open_conflicts})`)));
  pick.addEventListener("change", () => showConflicts(box, at, pick.value, branches, again));
  const resolve = async (conflict, body) => {
    try {
      await post(`${at}/conflicts/${conflict}/resolution${query({ branch })}`, body);
      say("");
      await again();
      document.getElementById("conflicts-title")?.focus();
    } catch (err) { say(`Not resolved: ${err.message}`); }
  };
  const cards = conflicts.map((c) => {
    const input = h("input", { "aria-label": `new value for ${c.node} ${c.field} (JSON or text)`, placeholder: "new value" });
    const side = (label, sideValue) => h("div", { class: "side" }, h("strong", {}, label), h("code", {}, sideValue.present ? value(sideValue.value) : "(absent)"),
      sideValue.provenance ? h("small", { class: "muted" }, ` by ${sideValue.provenance.actor}`) : "");
    const mine = h("button", { type: "button", "aria-label": `keep ours for ${c.node} ${c.field}` }, "Keep ours");
    mine.addEventListener("click", () => resolve(c.conflict, { choice: "ours" }));
    const theirs = h("button", { type: "button", "aria-label": `take theirs for ${c.node} ${c.field}` }, "Take theirs");
    theirs.addEventListener("click", () => resolve(c.conflict, { choice: "theirs" }));
    const set = h("button", { type: "button", "aria-label": `set new value for ${c.node} ${c.field}` }, "Set value");
    set.addEventListener("click", () => {
      let v = input.value;
      try { v = JSON.parse(v); } catch { /* a bare word is a string */ }
      resolve(c.conflict, { choice: "value", value: v });
    });
    return h("li", { class: "card conflict", dataset: { conflict: c.conflict } },
      h("h3", {}, `${c.node} · ${c.field}`, h("span", { class: "sub mono" }, ` ${short(c.conflict, 14)} from ${c.source}`)),
      h("div", { class: "sides" }, side("base", c.base), side(`ours (${branch})`, c.ours), side(`theirs (${c.source})`, c.theirs)),
      h("div", { class: "row" }, mine, theirs, input, set));
  });
  replace(box, h("h2", { id: "conflicts-title", tabindex: "-1" }, "Open conflicts"),
    h("div", { class: "field inline" }, h("label", { for: "conflict-branch" }, "On branch"), pick),
    cards.length ? h("ul", { class: "conflicts" }, cards) : h("p", { role: "status", class: "muted" }, `No open conflicts on ${branch}.`));
}
