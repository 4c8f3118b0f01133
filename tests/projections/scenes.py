"""Scenes the projection tests drive through the engine: edits, branches, merges and
executions whose tasks finish as a worker would report them."""

from __future__ import annotations

import hashlib

from tests.projections.conftest import Backend


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


async def busy_scene(backend: Backend, scene: str = "film") -> None:
    """Nodes, props, a person's upload, a chained execution run to the end, a branch
    edited and merged back: every kind of event the read models fold."""
    await backend.act(scene, {"name": "create_scene", "title": "Film"})
    for n in (1, 2):
        props = {"title": f"Shot {n}", "prompt": f"a lighthouse, take {n}", "duration": 2}
        await backend.act(
            scene, {"name": "add_node", "kind": "shot", "node": f"shot-{n}", "props": props}
        )
    caption = {"name": "add_node", "kind": "caption", "parent": "shot-1", "node": "cap-1"}
    await backend.act(scene, {**caption, "props": {"text": "Night falls."}})
    await backend.act(
        scene, {"name": "set_property", "node": "shot-1", "prop": "title", "value": "Dusk"}
    )
    upload = sha("uploaded still")
    await backend.act(
        scene,
        {"name": "bind_artifact", "node": "shot-2", "slot": "image", "artifact": upload},
        actor="bo",
    )
    await run_diagnostics(backend, scene, 3)
    await backend.act(scene, {"name": "fork_branch"}, branch="alt")
    await backend.act(
        scene,
        {"name": "set_property", "node": "shot-2", "prop": "title", "value": "Dawn"},
        branch="alt",
    )
    await backend.act(scene, {"name": "merge_branch", "source": "alt"})


async def run_diagnostics(backend: Backend, scene: str, count: int) -> str:
    """A chained diagnostic execution whose tasks all succeed; returns its id."""
    receipt = await backend.act(scene, {"name": "diagnose", "count": count, "chain": True})
    state = await backend.scenes.load(scene)
    execution = state.executions[receipt.execution_id]
    for task_id in execution.tasks:
        await backend.finish_task(scene, task_id, sha(f"made by {task_id}"))
    return receipt.execution_id
