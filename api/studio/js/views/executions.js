// Executions: the list (a page at a time), and one execution live: progress from its
// event stream, every task with attempts and failures, a chart of queue wait against
// run time, and cancel and retry-in-place buttons.

import { LiveStream, get, post, query, scenePath } from "../api.js";
import { badge, h, link, replace, seconds, short, table, counted } from "../dom.js";
import { onLeave, say } from "../main.js";
import { taskChart } from "../chart.js";

const PAGE = 50;

export async function showExecutions(main, scene, params) {
  const branch = params.get("branch") || "main";
  const page = Math.max(0, Number(params.get("page") || 0));
  const { executions: shown, total } = await get(`${scenePath(scene)}/executions${query({ branch, order: "newest", offset: page * PAGE, limit: PAGE })}`);
  const here = (p) => `#/s/${encodeURIComponent(scene)}/executions${query({ branch, page: p })}`;
  const rows = shown.map((run) => h("tr", {},
    h("td", {}, link(`#/s/${encodeURIComponent(scene)}/executions/${run.execution}${query({ branch })}`, short(run.execution), { class: "mono", "aria-label": `execution ${run.execution}` })),
    h("td", {}, run.goal), h("td", {}, badge(run.status)),
    h("td", { class: "num" }, `${run.total - run.open}/${run.total}`),
    h("td", { class: "num" }, run.failed), h("td", { class: "num" }, run.reused)));
  replace(main,
    h("h1", { tabindex: "-1" }, `Executions`, h("span", { class: "sub" }, ` · ${scene} · ${branch}`)),
    table(`${counted(total, "execution")}, newest first`, ["execution", "goal", "status", "done", "failed", "reused"], rows),
    h("nav", { class: "pager", "aria-label": "Pages of executions" },
      page > 0 ? link(here(page - 1), "← Newer") : "",
      h("span", {}, ` page ${page + 1} of ${Math.max(1, Math.ceil(total / PAGE))} `),
      (page + 1) * PAGE < total ? link(here(page + 1), "Older →") : ""));
}

export async function showExecution(main, scene, execution, params) {
  const branch = params.get("branch") || "main";
  const at = scenePath(scene);
  const run = await get(`${at}/executions/${execution}${query({ branch })}`);
  const tasks = new Map(run.tasks.map((t) => [t.id, { ...t, marks: [] }]));
  const bar = h("progress", { max: run.total || 1, value: run.done, "aria-label": "Tasks done" });
  const status = h("span", { id: "execution-status", class: `status s-${run.status}`, "aria-live": "polite" }, run.status);
  const counts = h("span", { id: "execution-counts" }, `${run.done} of ${run.total} tasks done`);
  const headline = h("p", { class: "headline" }, run.headline);
  const live = h("span", { class: "live muted", "aria-live": "polite" }, "connecting…");
  const taskBody = h("tbody");
  const chart = h("div", { class: "chart" });
  const log = h("ol", { class: "event-log", "aria-label": "Events received" });
  const logCount = h("span", {}, "0");
  const cancel = h("button", { type: "button", class: "danger" }, "Cancel execution");
  cancel.addEventListener("click", async () => {
    try {
      await post(`${at}/executions/${execution}/cancel${query({ branch })}`);
      say("");
    } catch (err) { say(`Not canceled: ${err.message}`); }
  });
  let start = null;
  const redraw = () => {
    renderTasks(taskBody, tasks, at, branch, reopen);
    replace(chart, taskChart([...tasks.values()], start));
  };
  let frame = 0;
  const later = () => { cancelAnimationFrame(frame); frame = requestAnimationFrame(redraw); };
  const setProgress = (progress) => {
    if (!progress) return;
    bar.max = progress.total || 1;
    bar.value = progress.done;
    status.textContent = progress.status;
    status.className = `status s-${progress.status}`;
    counts.textContent = `${progress.done} of ${progress.total} tasks done`;
    cancel.disabled = progress.status !== "running";
  };
  setProgress({ ...run, status: run.status });
  let stream = null;
  let last = null;
  function onMessage(kind, data) {
    last = data.position;
    log.append(h("li", { dataset: { position: data.position } }, h("span", { class: "mono" }, `#${data.position}`), ` ${data.type}`, data.payload?.task ? ` ${data.payload.task}` : ""));
    logCount.textContent = String(log.children.length);
    if (data.type === "ExecutionStarted" && start === null) start = Date.parse(data.recorded_at);
    track(tasks, data);
    setProgress(data.progress);
    // The stream stays open after the finish: a retry in place brings the execution back.
    if (data.type === "ExecutionFinished" && data.execution_id === execution) {
      get(`${at}/executions/${execution}${query({ branch })}`).then((fresh) => {
        for (const t of fresh.tasks) tasks.set(t.id, { ...t, marks: tasks.get(t.id)?.marks || [] });
        headline.textContent = fresh.headline;
        setProgress(fresh);
        later();
      }).catch(() => {});
    }
    later();
  }
  function reopen() {
    stream?.close();
    stream = new LiveStream({ scene, execution, branch, after: last, onMessage,
      onState: (s) => { live.textContent = s; } });
  }
  reopen();
  onLeave(() => stream?.close());
  replace(main,
    h("h1", { tabindex: "-1" }, `Execution `, h("span", { class: "mono" }, short(execution)), h("span", { class: "sub" }, ` · ${run.goal} · ${scene}`)),
    h("section", { class: "card progress-card", "aria-labelledby": "progress-title" },
      h("h2", { id: "progress-title", class: "sr-only" }, "Progress"),
      h("div", { class: "row" }, status, bar, counts, live, cancel),
      headline,
      h("p", {}, link(`#/s/${encodeURIComponent(scene)}/intent/${execution}${query({ intent: run.intent_id, branch })}`, "The intent behind it"),
        " · ", link(`#/s/${encodeURIComponent(scene)}/history${query({ branch, execution })}`, "Its history"))),
    h("section", { "aria-labelledby": "chart-title" }, h("h2", { id: "chart-title" }, "Tasks over time"), chart),
    h("section", { "aria-labelledby": "tasks-title" }, h("h2", { id: "tasks-title" }, "Tasks"),
      h("table", { class: "tasks" }, h("caption", { class: "sr-only" }, "Every task with attempts, waits and failures"),
        h("thead", {}, h("tr", {}, ["task", "what", "status", "attempt", "queue wait", "run", "reason", "actions"].map((t) => h("th", { scope: "col" }, t)))),
        taskBody)),
    h("details", { class: "events" }, h("summary", {}, "Events received (", logCount, ")"), log));
  redraw();
}

// Fold one stream message into the task records the table and the chart draw.
function track(tasks, data) {
  const p = data.payload || {};
  if (!p.task) return;
  const at = Date.parse(data.recorded_at);
  let task = tasks.get(p.task);
  if (!task) {
    task = { id: p.task, operation: p.operation || "", description: p.description || p.task, status: "planned", attempt: 0, marks: [] };
    tasks.set(p.task, task);
  }
  const kind = data.type.replace(/^Task/, "").toLowerCase();
  task.marks.push({ kind, at, attempt: p.attempt, error: p.error });
  const statusOf = { planned: "planned", dispatched: "queued", started: "running", succeeded: "succeeded", failed: "failed", blocked: "blocked", canceled: "canceled", retryrequested: "planned" };
  if (statusOf[kind]) task.status = statusOf[kind];
  if (p.attempt) task.attempt = p.attempt;
  if (kind === "failed" || kind === "blocked") task.error = p.error || p.reason || task.error;
}

function renderTasks(body, tasks, at, branch, reopen) {
  replace(body, [...tasks.values()].map((task) => {
    const actions = [];
    if (["failed", "blocked", "canceled"].includes(task.status)) {
      actions.push(action("Retry", `retry task ${task.id}`, `${at}/tasks/${task.id}/retry${query({ branch })}`, reopen));
    }
    if (["planned", "queued", "running"].includes(task.status)) {
      actions.push(action("Cancel", `cancel task ${task.id}`, `${at}/tasks/${task.id}/cancel${query({ branch })}`));
    }
    return h("tr", { dataset: { task: task.id } },
      h("td", { class: "mono" }, short(task.id, 10)), h("td", {}, task.description || task.operation),
      h("td", {}, badge(task.status)), h("td", { class: "num" }, task.attempt ?? "—"),
      h("td", { class: "num" }, seconds(task.queue_wait)), h("td", { class: "num" }, seconds(task.run_time)),
      h("td", { class: "reason" }, task.error || ""), h("td", {}, actions));
  }));
}

function action(label, aria, url, then) {
  const button = h("button", { type: "button", "aria-label": aria, class: "small" }, label);
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await post(url);
      then?.();
    } catch (err) {
      say(`${label} refused: ${err.message}`);
      button.disabled = false;
    }
  });
  return button;
}
