// The task chart: one row per task, time across from the execution's start; for each
// attempt its wait in the queue from dispatch to start (light) and its run (solid: green succeeded, red failed, grey canceled), with
// the failure's reason on hover and in the table beside it.

import { clipText, s } from "./svg.js";

const ROW = 22;
const LEFT = 210;
const WIDTH = 900;

export function taskChart(tasks, start) {
  const marked = tasks.filter((t) => t.marks.length);
  if (!marked.length || start === null) {
    const empty = document.createElement("p");
    empty.className = "muted";
    empty.textContent = "Waiting for the execution's events…";
    return empty;
  }
  const end = Math.max(start + 1, Math.max(...marked.flatMap((t) => t.marks.map((m) => m.at))));
  const span = end - start;
  const x = (at) => LEFT + ((at - start) / span) * (WIDTH - LEFT - 10);
  const height = marked.length * ROW + 30;
  const rows = marked.map((task, i) => {
    const y = i * ROW + 4;
    const parts = [s("text", { x: 4, y: y + 14, class: "label" }, clipText(task.description || task.id, 30))];
    let queued = null;
    let running = null;
    for (const mark of task.marks) {
      if (mark.kind === "dispatched") {
        queued ??= mark.at;  // before this it waited on its inputs, not in a queue
      } else if (mark.kind === "started") {
        if (queued !== null) parts.push(bar(x(queued), x(mark.at), y, "queue", `queue wait ${(mark.at - queued) / 1000} s`));
        queued = null;
        running = mark.at;
      } else if (["succeeded", "failed", "canceled", "blocked"].includes(mark.kind)) {
        const from = running ?? queued ?? mark.at;
        const why = mark.error ? `: ${mark.error}` : "";
        parts.push(bar(x(from), x(mark.at), y, mark.kind, `${mark.kind} after ${(mark.at - from) / 1000} s${why}`));
        running = null;
        queued = null;
      }
    }
    if (running !== null) parts.push(bar(x(running), x(end), y, "running", "running"));
    else if (queued !== null) parts.push(bar(x(queued), x(end), y, "queue", "waiting"));
    const attempts = task.marks.filter((m) => m.kind === "started").length;
    if (attempts > 1) parts.push(s("text", { x: WIDTH - 6, y: y + 14, class: "attempts", "text-anchor": "end" }, `${attempts} attempts`));
    return s("g", {}, parts);
  });
  const axis = s("text", { x: WIDTH - 10, y: height - 8, class: "axis", "text-anchor": "end" }, `${(span / 1000).toFixed(1)} s`);
  const legend = s("text", { x: LEFT, y: height - 8, class: "axis" }, "light: waiting in the queue · solid: running (green done, red failed)");
  return s("svg", { viewBox: `0 0 ${WIDTH} ${height}`, class: "task-chart", role: "img",
    "aria-label": `Chart of ${marked.length} tasks over ${(span / 1000).toFixed(1)} seconds: queue wait and run time per attempt` },
    rows, axis, legend);
}

function bar(x1, x2, y, kind, title) {
  return s("rect", { x: x1, y: y + 3, width: Math.max(2, x2 - x1), height: ROW - 8, class: `bar ${kind}`, rx: 2 },
    s("title", {}, title));
}
