// The draft timeline: shots with thumbnails, the tracks under them, and players for
// the latest preview and production renders (the player reads byte ranges).

import { contentUrl, get, post, query, scenePath } from "../api.js";
import { badge, h, link, replace, seconds, short } from "../dom.js";
import { say } from "../main.js";

export async function showTimeline(main, scene, params) {
  const branch = params.get("branch") || "main";
  const at = scenePath(scene);
  const [draft, preview, production] = await Promise.all(
    ["draft", "preview", "production"].map((f) => get(`${at}/views/${f}${query({ branch })}`)));
  const view = draft.view;
  const scale = 100 / Math.max(view.duration, 0.001);
  const shots = h("ol", { class: "shots", "aria-label": "Shots" }, view.shots.map((shot) => {
    const image = shot.slots.find((s) => s.slot === "image");
    const thumb = h("div", { class: "thumb", role: "img", "aria-label": `shot ${shot.number} picture` },
      image?.artifact ? "" : h("span", { class: "muted" }, image?.placeholder || "no picture"));
    if (image?.artifact) thumbnail(thumb, image.artifact, `shot ${shot.number}: ${shot.prompt}`);
    return h("li", { class: "shot", style: `flex-grow:${shot.duration}` },
      thumb,
      h("div", {}, h("strong", {}, `${shot.number}. ${shot.title}`), " ", h("span", { class: "muted" }, seconds(shot.duration))),
      h("p", { class: "prompt" }, shot.prompt),
      h("ul", { class: "slot-list" }, shot.slots.map((slot) => h("li", {},
        `${slot.slot}: `,
        slot.artifact ? link(`#/artifacts/${slot.artifact}`, short(slot.artifact), { class: "mono", "aria-label": `lineage of shot ${shot.number} ${slot.slot}` })
          : slot.task ? badge(slot.task.status) : h("span", { class: "muted" }, slot.placeholder || "—")))));
  }));
  const tracks = view.tracks.map((track) => h("div", { class: "track" },
    h("span", { class: "track-name" }, track.name),
    h("div", { class: "lane", role: "list", "aria-label": `${track.name} track` }, track.items.map((item) =>
      h("span", { role: "listitem", class: `clip k-${item.kind}`, title: item.text,
        style: `left:${item.start * scale}%;width:${(item.duration ?? 1) * scale}%` }, item.text)))));
  replace(main,
    h("h1", { tabindex: "-1" }, `${view.title || scene}`, h("span", { class: "sub" }, ` timeline · ${branch} @ v${view.version}`)),
    h("p", { class: "facts" }, `${view.width}×${view.height} @ ${view.fps} fps · ${seconds(view.duration)} · `,
      view.pending ? `${view.pending} slots being made` : "nothing pending",
      view.conflicts ? ` · ${view.conflicts} open conflicts` : ""),
    h("section", { "aria-labelledby": "renders" }, h("h2", { id: "renders" }, "Renders"),
      h("div", { class: "players" }, player(scene, branch, "Preview", preview.view), player(scene, branch, "Production", production.view))),
    h("section", { "aria-labelledby": "draft" }, h("h2", { id: "draft" }, "Draft timeline"), shots, tracks));
}

function player(scene, branch, label, fidelity) {
  const box = h("figure", { class: "player card" },
    h("figcaption", {}, h("strong", {}, label), " ", badge(fidelity.status), " ", renderButton(scene, branch, label, fidelity)));
  if (fidelity.output) {
    const video = h("video", { controls: true, preload: "metadata", "aria-label": `${label} render` });
    box.append(video, h("p", {}, link(`#/artifacts/${fidelity.output}`, "Lineage of this render", { class: "lineage-link" })));
    contentUrl(fidelity.output).then((url) => { video.src = url; }).catch(() => {});
  } else {
    const reasons = [...(fidelity.reasons || []), ...fidelity.missing.map((m) => `${m.description}: ${m.status}`)];
    box.append(h("ul", { class: "muted" }, reasons.slice(0, 4).map((r) => h("li", {}, r))));
  }
  return box;
}

// Render at this fidelity: the execution it starts opens, live.
function renderButton(scene, branch, label, fidelity) {
  if (fidelity.status === "ready" || fidelity.status === "in_progress") return "";
  const button = h("button", { type: "button", class: "small", "aria-label": `render the ${label.toLowerCase()}` }, "Render");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const accepted = await post(`${scenePath(scene)}/intents${query({ branch })}`,
        { kind: "structured_action", action: { name: "render", goal: fidelity.fidelity } });
      location.hash = `#/s/${encodeURIComponent(scene)}/executions/${accepted.execution_id}${query({ branch })}`;
    } catch (err) {
      say(`Not rendered: ${err.message}`);
      button.disabled = false;
    }
  });
  return button;
}

function thumbnail(box, artifact, alt) {
  contentUrl(artifact).then((url) => {
    box.replaceChildren(h("img", { src: url, alt, loading: "lazy" }));
  }).catch(() => {});
}
