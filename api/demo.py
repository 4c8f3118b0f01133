"""`scenestate demo`: the lighthouse keeper film, from one prompt to its plan.

The prompt goes through intake, binding (the local structure planner makes the
shots, captions and narration) and planning (the task DAG that will make the
film). Every step carries an idempotency key, so running the demo again appends
nothing and says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import Progress
from rich.tree import Tree

from api.render import scene_tree
from engine.intents import parse_intent
from engine.ports import StreamId
from engine.scene import SceneState

if TYPE_CHECKING:
    from api.bootstrap import Engine

SCENE = "lighthouse"
PROMPT = "A 3-shot film about a lighthouse keeper, with narration and captions"


def demo_steps() -> list[dict[str, Any]]:
    """The demo's intents, in order, as a studio front end would send them."""
    return [
        {"kind": "text_prompt", "text": PROMPT},
        {"kind": "direct_edit", "node": "root", "prop": "style", "value": "moody, 35mm film"},
    ]


async def run_demo(engine: Engine, console: Console) -> None:
    scenes = engine.scenes
    steps = demo_steps()
    appended = repeated = 0
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("building the lighthouse film", total=len(steps))
        for number, step in enumerate(steps, start=1):
            raw = {
                "studio": "demo",
                "actor": "demo",
                "scene": SCENE,
                "idempotency_key": f"demo-step-{number}",
                **step,
            }
            receipt = await scenes.submit(
                parse_intent(raw, now=scenes.clock.now, new_id=scenes.ids.new_id)
            )
            repeated += receipt.duplicate
            appended += not receipt.duplicate
            progress.advance(task)
    state = await scenes.load(SCENE)
    console.print(scene_tree(state))
    console.print(plan_tree(state))
    events = await engine.store.read_stream(StreamId(SCENE))
    console.print(
        f"{appended} intents appended, {repeated} already recorded; "
        f"the scene's log holds {len(events)} events. "
        f"Try: scenestate history {SCENE}; scenestate executions {SCENE}"
    )


def plan_tree(state: SceneState) -> Tree:
    """The newest execution's tasks, each under the tasks that feed it."""
    top = Tree("[bold]plan[/] (newest execution)")
    if not state.executions:
        top.add("nothing planned")
        return top
    execution = list(state.executions.values())[-1]
    top.label = (
        f"[bold]plan[/] {execution.id}: {len(execution.tasks)} tasks, "
        f"{execution.reused} reused, {execution.status}"
    )
    for task_id in execution.tasks:
        task = state.tasks[task_id]
        fed_by = ", ".join(i.name for i in task.inputs) or "-"
        top.add(
            f"{task.description}  [dim]{task.operation} · {task.model} · "
            f"key {task.content_key[:10]} · inputs: {fed_by} · {task.status}[/]"
        )
    return top
