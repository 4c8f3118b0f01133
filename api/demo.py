"""`scenestate demo`: the lighthouse keeper film's scene, built through the engine.

Each step is an intent with an idempotency key, so running the demo again
appends nothing and says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import Progress

from api.render import scene_tree
from engine.intents import parse_intent
from engine.ports import StreamId

if TYPE_CHECKING:
    from api.bootstrap import Engine

SCENE = "lighthouse"
PROMPT = "A 3-shot film about a lighthouse keeper, with narration and captions"
SHOTS = [
    ("The keeper climbs the spiral stair at dusk", 5.0, "Every night, the climb."),
    ("The great lamp turns over a black sea", 5.0, "The light goes round."),
    ("A ship passes safely in the dawn mist", 6.0, "And someone comes home."),
]
NARRATION = (
    "Every night he climbs. Every night the light goes round. Every dawn, a ship comes home."
)


def demo_steps() -> list[dict[str, Any]]:
    """The demo's intents, in order, as a studio front end would send them."""
    steps: list[dict[str, Any]] = [{"kind": "text_prompt", "text": PROMPT}]
    for number, (prompt, duration, caption) in enumerate(SHOTS, start=1):
        shot = f"shot-{number}"
        steps.append(
            _action(
                "add_node",
                kind="shot",
                node=shot,
                props={
                    "title": f"Shot {number}",
                    "prompt": prompt,
                    "duration": duration,
                    "seed": number,
                },
            )
        )
        steps.append(
            _action(
                "add_node",
                kind="caption",
                node=f"caption-{number}",
                parent=shot,
                props={"text": caption, "start": 0.5, "end": duration - 0.5},
            )
        )
    steps.append(
        _action(
            "add_node",
            kind="voiceover",
            node="narration",
            props={"text": NARRATION, "voice": "warm", "start": 0.5},
        )
    )
    steps.append({"kind": "direct_edit", "node": "root", "prop": "fps", "value": 24})
    return steps


def _action(name: str, **args: Any) -> dict[str, Any]:
    return {"kind": "structured_action", "action": {"name": name, **args}}


async def run_demo(engine: Engine, console: Console) -> None:
    scenes = engine.scenes
    steps = demo_steps()
    appended = repeated = 0
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("building the lighthouse scene", total=len(steps))
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
    events = await engine.store.read_stream(StreamId(SCENE))
    console.print(
        f"{appended} intents appended, {repeated} already recorded; "
        f"the scene's log holds {len(events)} events. "
        f"Try: scenestate history {SCENE}"
    )
