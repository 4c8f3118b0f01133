// The inspector: sign in with a studio's key, then every view reads the public API.
// Routes live in the URL's hash, so every view can be bookmarked and Back works.

import { ApiError, get, key } from "./api.js";
import { h, link, replace } from "./dom.js";
import { showBranches } from "./views/branches.js";
import { showExecution, showExecutions } from "./views/executions.js";
import { showHistory } from "./views/history.js";
import { showIntent } from "./views/intent.js";
import { showLineage } from "./views/lineage.js";
import { showScenes } from "./views/scenes.js";
import { showTimeline } from "./views/timeline.js";
import { showTree } from "./views/tree.js";

const main = document.getElementById("main");
const nav = document.getElementById("scene-nav");
const who = document.getElementById("who");
const alertBox = document.getElementById("alert");
let leaving = [];

export function say(message) {
  alertBox.hidden = !message;
  alertBox.textContent = message || "";
}

// A view registers what must stop when the page moves on (live streams).
export function onLeave(stop) {
  leaving.push(stop);
}

function parseHash() {
  const [path, search = ""] = location.hash.replace(/^#/, "").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { parts, params: new URLSearchParams(search) };
}

const SCENE_VIEWS = [
  ["tree", "Tree"],
  ["timeline", "Timeline"],
  ["executions", "Executions"],
  ["branches", "Branches"],
  ["history", "History"],
];

function sceneNav(scene, current) {
  replace(nav, scene ? h("ul", {},
    h("li", {}, h("span", { class: "scene-name" }, scene)),
    SCENE_VIEWS.map(([view, label]) => h("li", {},
      link(`#/s/${encodeURIComponent(scene)}/${view}`, label,
        { "aria-current": view === current ? "page" : null })))) : "");
}

async function route() {
  for (const stop of leaving) stop();
  leaving = [];
  say("");
  if (!key.get()) {
    sceneNav(null);
    replace(who, "");
    return signIn();
  }
  const { parts, params } = parseHash();
  const [top, scene, view, item] = parts;
  sceneNav(top === "s" ? scene : null, view === "intent" ? "history" : view);
  replace(main, h("p", { class: "muted" }, "Loading…"));
  try {
    if (top === "s" && view === "tree") await showTree(main, scene, params);
    else if (top === "s" && view === "timeline") await showTimeline(main, scene, params);
    else if (top === "s" && view === "executions" && item) await showExecution(main, scene, item, params);
    else if (top === "s" && view === "executions") await showExecutions(main, scene, params);
    else if (top === "s" && view === "branches") await showBranches(main, scene, params);
    else if (top === "s" && view === "history") await showHistory(main, scene, params);
    else if (top === "s" && view === "intent") await showIntent(main, scene, item, params);
    else if (top === "s") location.hash = `#/s/${encodeURIComponent(scene)}/tree`;
    else if (top === "artifacts" && scene) await showLineage(main, scene);
    else await showScenes(main);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      key.clear();
      say(`Signed out: ${err.message}`);
      return route();
    }
    replace(main, h("h1", { tabindex: "-1" }, "Something went wrong"));
    say(err.message);
  }
  // A new view takes the focus to its heading (a screen reader says where it is now),
  // unless the view put it somewhere itself.
  const heading = main.querySelector("h1");
  if (heading && !main.contains(document.activeElement)) heading.focus({ preventScroll: true });
}

function signIn() {
  const input = h("input", { id: "key", type: "password", autocomplete: "off", required: true,
    spellcheck: "false", placeholder: "ssk_…" });
  const form = h("form", { class: "card signin", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title", tabindex: "-1" }, "Sign in"),
    h("p", {}, "Paste a studio's API key. It stays in this tab only (sessionStorage) and is sent to this server alone."),
    h("div", { class: "field" }, h("label", { for: "key" }, "Studio API key"), input,
      h("small", { class: "muted" }, "Make one with: scenestate key --studio STUDIO")),
    h("button", { type: "submit" }, "Sign in"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    key.set(input.value.trim());
    try {
      await get("/me");
      await route();
      await showWho();
    } catch (err) {
      key.clear();
      say(`That key was refused: ${err.message}`);
      input.focus();
    }
  });
  replace(main, form);
  input.focus();
}

async function showWho() {
  if (!key.get()) return;
  const me = await get("/me").catch(() => null);
  if (!me) return;
  const out = h("button", { type: "button", class: "link" }, "Sign out");
  out.addEventListener("click", () => {
    key.clear();
    location.hash = "#/";
    route();
  });
  replace(who, h("span", {}, "Studio ", h("strong", { id: "studio-name" }, me.studio), ` · ${me.actor}`), " ", out);
}

window.addEventListener("hashchange", route);
route().then(showWho);
