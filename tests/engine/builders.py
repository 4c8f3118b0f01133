"""Helpers that run intents through decide and apply with no store, for fast engine tests."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from engine.decisions import decide
from engine.errors import InvalidIntent, NotFound
from engine.events import EventMetadata, RecordedEvent
from engine.intents import AnyIntent, parse_intent
from engine.reducers import apply
from engine.scene import SceneState

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
_counter = itertools.count(1)


def intent(studio: str = "studio-a", scene: str = "s1", **fields: Any) -> AnyIntent:
    """Parse an intent from keyword fields, with fresh ids and a fixed clock."""
    return parse_intent(
        {"studio": studio, "actor": "ana", "scene": scene, **fields},
        now=lambda: EPOCH,
        new_id=lambda: f"i{next(_counter)}",
    )


def action(name: str, scene: str = "s1", branch: str = "main", **args: Any) -> AnyIntent:
    return intent(
        kind="structured_action", scene=scene, branch=branch, action={"name": name, **args}
    )


class Timeline:
    """A stream kept in memory: every accepted intent's events, recorded and folded."""

    def __init__(self, scene: str = "s1", branch: str = "main") -> None:
        self.state = SceneState(scene=scene, branch=branch)
        self.events: list[RecordedEvent] = []

    def submit(self, item: AnyIntent) -> list[RecordedEvent]:
        decision = decide(self.state, item)
        meta = EventMetadata(
            studio=item.studio,
            actor=item.actor,
            intent_id=item.id,
            execution_id=f"x-{item.id}",
            transform=decision.transform,
            transform_version=decision.transform_version,
        )
        recorded = []
        for payload in decision.events:
            version = self.state.version + 1
            event = RecordedEvent(
                f"e{version}",
                self.state.scene,
                self.state.branch,
                version,
                version,
                EPOCH,
                meta,
                payload,
            )
            self.state = apply(self.state, event)
            recorded.append(event)
        self.events.extend(recorded)
        return recorded

    def try_submit(self, item: AnyIntent) -> bool:
        try:
            self.submit(item)
        except (InvalidIntent, NotFound):
            return False
        return True

    def act(self, name: str, **args: Any) -> list[RecordedEvent]:
        return self.submit(action(name, self.state.scene, self.state.branch, **args))


def tree(state: SceneState) -> Iterator[tuple[int, str]]:
    """(depth, id) for every node in display order."""
    stack = [(0, state.root)]
    while stack:
        depth, node_id = stack.pop()
        yield depth, node_id
        stack.extend((depth + 1, c) for c in reversed(state.child_ids(node_id)))


def props(state: SceneState, node_id: str) -> Mapping[str, Any]:
    node = state.nodes[node_id]
    return {k: p.value for k, p in node.props.items()}
