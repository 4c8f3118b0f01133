// The studio's scenes, and a new scene made from a prompt (then its execution, live).

import { get, post, scenePath } from "../api.js";
import { field, h, link, replace } from "../dom.js";
import { say } from "../main.js";

const FORMATS = [
  ["", "the scene's default"],
  ["320x180@12", "320×180, 12 fps (quick)"],
  ["640x360@12", "640×360, 12 fps"],
  ["1280x720@24", "1280×720, 24 fps"],
  ["1920x1080@24", "1920×1080, 24 fps"],
];

export async function showScenes(main) {
  const { scenes } = await get("/scenes");
  const list = scenes.length
    ? h("ul", { class: "scene-list" }, scenes.map((scene) => h("li", {},
        link(`#/s/${encodeURIComponent(scene)}/tree`, scene, { class: "scene-link" }),
        " ", link(`#/s/${encodeURIComponent(scene)}/timeline`, "timeline", { class: "muted", "aria-label": `${scene} timeline` }),
        " ", link(`#/s/${encodeURIComponent(scene)}/executions`, "executions", { class: "muted", "aria-label": `${scene} executions` }))))
    : h("p", { class: "muted" }, "No scenes yet: make one below, or run scenestate demo.");
  replace(main,
    h("h1", { tabindex: "-1" }, "Scenes"),
    h("section", { "aria-labelledby": "scenes-title" }, h("h2", { id: "scenes-title", class: "sr-only" }, "All scenes"), list),
    newSceneForm());
}

function newSceneForm() {
  const id = h("input", { name: "scene", required: true, pattern: "[A-Za-z0-9][A-Za-z0-9_.:\\-]{0,127}", placeholder: "teaser" });
  const title = h("input", { name: "title", placeholder: "Teaser" });
  const prompt = h("textarea", { name: "prompt", rows: 3, placeholder: "A 3-shot film about a lighthouse keeper, with narration and captions" });
  const format = h("select", { name: "format" }, FORMATS.map(([v, label]) => h("option", { value: v }, label)));
  const submit = h("button", { type: "submit" }, "Create scene");
  const form = h("form", { class: "card", "aria-labelledby": "new-scene" },
    h("h2", { id: "new-scene" }, "New scene from a prompt"),
    h("div", { class: "row" }, field("Scene id", id), field("Title", title), field("Picture format", format)),
    field("Prompt (optional)", prompt, "Sent as a text prompt intent once the scene exists; you then watch its execution live."),
    submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    try {
      const scene = id.value.trim();
      await post("/scenes", { id: scene, title: title.value.trim() });
      const at = scenePath(scene);
      if (format.value) {
        const [size, fps] = format.value.split("@");
        const [width, height] = size.split("x").map(Number);
        for (const [prop, v] of [["width", width], ["height", height], ["fps", Number(fps)]]) {
          await post(`${at}/intents`, { kind: "structured_action",
            action: { name: "set_property", node: "root", prop, value: v } });
        }
      }
      if (prompt.value.trim()) {
        const accepted = await post(`${at}/intents`, { kind: "text_prompt", text: prompt.value.trim() });
        if (accepted.execution_started) {
          location.hash = `#/s/${encodeURIComponent(scene)}/executions/${accepted.execution_id}`;
          return;
        }
      }
      location.hash = `#/s/${encodeURIComponent(scene)}/tree`;
    } catch (err) {
      say(`The scene was not made: ${err.message}`);
      submit.disabled = false;
    }
  });
  return form;
}
