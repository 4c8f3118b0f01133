// An artifact's lineage drawn as a graph: the root intents on the left, every task
// that made what it is made of (operation, model, provider), and the artifact on the
// right. Each box links to the lineage of what that task made.

import { contentUrl, get, query } from "../api.js";
import { h, link, replace, seconds, short, when, counted } from "../dom.js";
import { clipText, layers, s } from "../svg.js";

const BOX_W = 176, BOX_H = 46, COL = 206, ROW = 60;

export async function showLineage(main, artifact) {
  const [lineage, about] = await Promise.all([get(`/artifacts/${artifact}/lineage`), get(`/artifacts/${artifact}`)]);
  const { nodes, edges, executions } = graphOf(lineage);
  const intentHref = (i) => `#/s/${encodeURIComponent(i.scene)}/intent/${executions.get(i.intent_id) || "-"}${query({ intent: i.intent_id, branch: i.branch })}`;
  replace(main,
    h("h1", { tabindex: "-1" }, "Lineage of ", h("span", { class: "mono" }, short(lineage.artifact, 12)),
      h("span", { class: "sub" }, ` · ${about.media_type}${about.width ? ` ${about.width}×${about.height}` : ""}${about.duration ? ` · ${seconds(about.duration)}` : ""}`)),
    h("div", { class: "lineage-top" }, preview(lineage.artifact, about),
      h("dl", { class: "facts-list" },
        h("dt", {}, "Root intents"), h("dd", {}, lineage.root_intents.map((i) => h("div", {},
          link(intentHref(i), `“${i.summary}”`, { class: "intent-link" }),
          h("small", { class: "muted" }, ` ${i.kind} by ${i.actor}, ${when(i.accepted_at)}`)))),
        h("dt", {}, "Models"), h("dd", {}, lineage.models.join(", ") || "—"),
        h("dt", {}, "Providers"), h("dd", {}, lineage.providers.join(", ") || "—"),
        h("dt", {}, "Transforms"), h("dd", {}, lineage.transforms.join(", ") || "—"))),
    h("section", { "aria-labelledby": "graph-title" }, h("h2", { id: "graph-title" }, "Made from"),
      h("div", { class: "scroll" }, drawGraph(nodes, edges, lineage.artifact)),
      h("details", {}, h("summary", {}, `The ${counted(nodes.length, "step")} as a list`),
        h("ol", {}, nodes.map((n) => h("li", {}, n.href ? link(n.href, `${n.title} — ${n.subtitle}`) : `${n.title} — ${n.subtitle}`))))));
}

function graphOf(lineage) {
  const nodes = new Map();
  const edges = [];
  const executions = new Map();
  const add = (node) => { if (!nodes.has(node.id)) nodes.set(node.id, node); return node.id; };
  const intentNode = (i) => add({ id: `i:${i.intent_id}`, kind: "intent", title: `intent: ${i.kind}`, subtitle: i.summary,
    href: `#/s/${encodeURIComponent(i.scene)}/intent/${executions.get(i.intent_id) || "-"}${query({ intent: i.intent_id, branch: i.branch })}` });
  const visitTask = (task, artifact) => {
    const id = add({ id: `t:${task.task}`, kind: "task", title: `${task.operation}`, subtitle: `${task.model} · ${task.provider}`,
      href: artifact ? `#/artifacts/${artifact}` : null, detail: task.description });
    let sources = 0;
    for (const input of task.inputs) {
      const from = input.source ? visitArtifact(input.source) : input.task ? visitTask(input.task, null) : null;
      if (from) { edges.push([from, id]); sources += 1; }
    }
    const intent = task.execution?.intent;
    if (intent) executions.set(intent.intent_id, task.execution.execution);
    if (intent && !sources) edges.push([intentNode(intent), id]);
    return id;
  };
  const visitArtifact = (origin) => {
    if (origin.made_by) return visitTask(origin.made_by, origin.artifact);
    const id = add({ id: `a:${origin.artifact}`, kind: "upload", title: "artifact", subtitle: short(origin.artifact, 12), href: `#/artifacts/${origin.artifact}` });
    for (const b of origin.bound_by) if (b.intent) edges.push([intentNode(b.intent), id]);
    return id;
  };
  const top = visitArtifact(lineage.origin);
  const final = add({ id: "final", kind: "final", title: "this artifact", subtitle: short(lineage.artifact, 12), href: null });
  if (top !== final) edges.push([top, final]);
  for (const i of lineage.root_intents) intentNode(i);
  const unique = new Set(edges.map((e) => e.join(">")));
  return { nodes: [...nodes.values()], edges: [...unique].map((e) => e.split(">")), executions };
}

function drawGraph(nodes, edges, artifact) {
  const place = layers(nodes, edges);
  const cols = Math.max(...[...place.values()].map((p) => p.col)) + 1;
  const rows = Math.max(...[...place.values()].map((p) => p.row)) + 1;
  const width = cols * COL + 10;
  const height = rows * ROW + 10;
  const at = (id) => { const p = place.get(id); return { x: 5 + p.col * COL, y: 5 + p.row * ROW }; };
  const lines = edges.map(([from, to]) => {
    const a = at(from), b = at(to);
    const x1 = a.x + BOX_W, y1 = a.y + BOX_H / 2, x2 = b.x, y2 = b.y + BOX_H / 2;
    return s("path", { d: `M${x1},${y1} C${x1 + 20},${y1} ${x2 - 20},${y2} ${x2},${y2}`, class: "edge" });
  });
  const boxes = nodes.map((n) => {
    const { x, y } = at(n.id);
    const box = [s("rect", { x, y, width: BOX_W, height: BOX_H, rx: 6, class: `box ${n.kind}` }),
      s("text", { x: x + 8, y: y + 18, class: "title" }, clipText(n.title, 24)),
      s("text", { x: x + 8, y: y + 35, class: "subtitle" }, clipText(n.subtitle || "", 28)),
      s("title", {}, `${n.title}: ${n.subtitle}${n.detail ? ` (${n.detail})` : ""}`)];
    return n.href ? s("a", { href: n.href, class: "node-link", "aria-label": `${n.title}: ${n.subtitle}` }, box) : s("g", {}, box);
  });
  return s("svg", { width, height, viewBox: `0 0 ${width} ${height}`, class: "lineage-graph", role: "group",
    "aria-label": `Lineage graph of ${artifact}: ${nodes.length} steps from the root intents` }, lines, boxes);
}

function preview(artifact, about) {
  const box = h("figure", { class: "lineage-preview" });
  const tag = about.media_type.startsWith("video/") ? "video" : about.media_type.startsWith("image/") ? "img" : about.media_type.startsWith("audio/") ? "audio" : null;
  if (!tag) return box;
  const el = h(tag, tag === "img" ? { alt: `artifact ${short(artifact)}` } : { controls: true, preload: "metadata", "aria-label": `artifact ${short(artifact)}` });
  box.append(el);
  contentUrl(artifact).then((url) => { el.src = url; }).catch(() => {});
  return box;
}
