// The draft timeline: shots with thumbnails, the tracks under them, and players for
// the latest preview and production renders (the player reads byte ranges). The
// draft follows the scene's stream, so work landing shows up as it lands.

import { LiveStream, contentUrl, get, post, query, scenePath } from "../api.js";
import { badge, h, link, replace, seconds, short } from "../dom.js";
import { onLeave, say } from "../main.js";

export async function showTimeline(main, scene, params) {
  const branch = params.get("branch") || "main";
  const at = scenePath(scene);
  const [draft, preview, production] = await Promise.all(
    ["draft", "preview", "production"].map((f) => get(`${at}/views/${f}${query({ branch })}`)));
  const urls = new Map(); // artifact -> a content URL promise, so a redraw mints nothing
  const title = h("h1", { tabindex: "-1" });
  const facts = h("p", { class: "facts" });
  const draftBox = h("div");
  const players = h("div", { class: "players" });
  const live = h("span", { class: "live muted", "aria-live": "polite" }, "connecting…");
  const drawPlayers = (p, q) => replace(players,
    player(scene, branch, "Preview", p.view, urls), player(scene, branch, "Production", q.view, urls));
  const drawDraft = (view) => {
    replace(title, `${view.title || scene}`, h("span", { class: "sub" }, ` timeline · ${branch} @ v${view.version}`));
    replace(facts, `${view.width}×${view.height} @ ${view.fps} fps · ${seconds(view.duration)} · `,
      view.pending ? `${view.pending} slots being made` : "nothing pending",
      view.conflicts ? ` · ${view.conflicts} open conflicts` : "", " · ", live);
    replace(draftBox, shotList(view, urls), tracks(view));
  };
  drawDraft(draft.view);
  drawPlayers(preview, production);
  replace(main, title, facts,
    h("section", { "aria-labelledby": "renders" }, h("h2", { id: "renders" }, "Renders"), players),
    h("section", { "aria-labelledby": "draft" }, h("h2", { id: "draft" }, "Draft timeline"), draftBox));

  let latest = null;
  let frame = 0;
  let outputs = [preview.view.output, production.view.output].join();
  const stream = new LiveStream({
    scene, branch, view: "draft",
    onState: (state) => { live.textContent = state; },
    onMessage: (kind, data) => {
      if (data.branch !== branch || !data.view) return;
      latest = data.view;
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(() => drawDraft(latest));
      if (data.type === "ExecutionFinished") refreshPlayers();
    },
  });
  async function refreshPlayers() {
    const [p, q] = await Promise.all(["preview", "production"].map((f) => get(`${at}/views/${f}${query({ branch })}`)));
    const now = [p.view.output, q.view.output].join();
    if (now !== outputs) {
      outputs = now;
      drawPlayers(p, q);
    }
  }
  onLeave(() => stream.close());
}

function shotList(view, urls) {
  return h("ol", { class: "shots", "aria-label": "Shots" }, view.shots.map((shot) => {
    const image = shot.slots.find((s) => s.slot === "image");
    const thumb = h("div", { class: "thumb", role: "img", "aria-label": `shot ${shot.number} picture` },
      image?.artifact ? "" : h("span", { class: "muted" }, image?.task ? `picture ${image.task.status}` : image?.placeholder || "no picture"));
    if (image?.artifact) thumbnail(thumb, image.artifact, `shot ${shot.number}: ${shot.prompt}`, urls);
    return h("li", { class: "shot", style: `flex-grow:${shot.duration}` },
      thumb,
      h("div", {}, h("strong", {}, `${shot.number}. ${shot.title}`), " ", h("span", { class: "muted" }, seconds(shot.duration))),
      h("p", { class: "prompt" }, shot.prompt),
      h("ul", { class: "slot-list" }, shot.slots.map((slot) => h("li", {},
        `${slot.slot}: `,
        slot.artifact ? link(`#/artifacts/${slot.artifact}`, short(slot.artifact), { class: "mono", "aria-label": `lineage of shot ${shot.number} ${slot.slot}` })
          : slot.task ? badge(slot.task.status) : h("span", { class: "muted" }, slot.placeholder || "—")))));
  }));
}

function tracks(view) {
  const scale = 100 / Math.max(view.duration, 0.001);
  return view.tracks.map((track) => h("div", { class: "track" },
    h("span", { class: "track-name" }, track.name),
    h("div", { class: "lane", role: "list", "aria-label": `${track.name} track` }, track.items.map((item) =>
      h("span", { role: "listitem", class: `clip k-${item.kind}`, title: item.text,
        style: `left:${item.start * scale}%;width:${(item.duration ?? 1) * scale}%` }, item.text)))));
}

const TOKEN_REUSE_MS = 4 * 60 * 1000; // content tokens live 5 minutes

function contentOnce(artifact, urls) {
  const held = urls.get(artifact);
  if (held && Date.now() - held.at < TOKEN_REUSE_MS) return held.url;
  const url = contentUrl(artifact);
  urls.set(artifact, { url, at: Date.now() });
  return url;
}

// A player left paused past its token's life asks for its next range in vain: take a
// new token and carry on from the same moment.
function keepPlaying(video, artifact, urls) {
  let last = 0;
  video.addEventListener("error", async () => {
    if (Date.now() - last < 10_000) return;
    last = Date.now();
    const at = video.currentTime;
    urls.delete(artifact);
    video.src = await contentOnce(artifact, urls);
    video.currentTime = at;
  });
}

function player(scene, branch, label, fidelity, urls) {
  const box = h("figure", { class: "player card" },
    h("figcaption", {}, h("strong", {}, label), " ", badge(fidelity.status), " ", renderButton(scene, branch, label, fidelity)));
  if (fidelity.output) {
    const video = h("video", { controls: true, preload: "metadata", "aria-label": `${label} render` });
    box.append(video, h("p", {}, link(`#/artifacts/${fidelity.output}`, "Lineage of this render", { class: "lineage-link" })));
    contentOnce(fidelity.output, urls).then((url) => { video.src = url; }).catch(() => {});
    keepPlaying(video, fidelity.output, urls);
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

function thumbnail(box, artifact, alt, urls) {
  contentOnce(artifact, urls).then((url) => {
    box.replaceChildren(h("img", { src: url, alt, loading: "lazy" }));
  }).catch(() => {});
}
