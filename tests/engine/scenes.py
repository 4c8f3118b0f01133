"""Drive a SceneService on the in-memory store the way a studio front end would."""

from __future__ import annotations

import itertools
from typing import Any

from engine.executions import ExecutionRecord
from engine.intents import parse_intent
from engine.ports import EventStore
from engine.scene import SceneState
from engine.service import Receipt, SceneService
from tests.engine.builders import EPOCH
from tests.memory_store import MemoryStore


class Counter:
    """Ids id1, id2, ...; with a prefix, ids of their own (a second process's)."""

    def __init__(self, prefix: str = "") -> None:
        self._prefix = prefix
        self._next = itertools.count(1)

    def new_id(self) -> str:
        return f"{self._prefix}id{next(self._next)}"


_processes = itertools.count(2)


class FixedClock:
    def now(self):  # type: ignore[no-untyped-def]
        return EPOCH


class Studio:
    """One scene, several branches, driven through the engine service."""

    def __init__(self, store: EventStore | None = None, scene: str = "film", **opts: Any) -> None:
        # A studio on a store another one made is another process: its ids differ.
        ids = Counter() if store is None else Counter(f"p{next(_processes)}-")
        self.store = store or MemoryStore()
        opts.setdefault("work_cache", self.store)
        self.service = SceneService(self.store, FixedClock(), ids, **opts)
        self.scene = scene

    async def act(self, branch: str, name: str, **args: Any) -> Receipt:
        return await self.submit(
            {"kind": "structured_action", "branch": branch, "action": {"name": name, **args}}
        )

    async def submit(self, fields: dict[str, Any]) -> Receipt:
        raw = {"studio": "st", "actor": "ana", "scene": self.scene, **fields}
        ids = self.service.ids
        return await self.service.submit(parse_intent(raw, now=FixedClock().now, new_id=ids.new_id))

    async def set(self, branch: str, node: str, prop: str, value: Any) -> Receipt:
        return await self.act(branch, "set_property", node=node, prop=prop, value=value)

    async def fork(self, name: str, source: str = "main", at: int | None = None) -> Receipt:
        return await self.act(name, "fork_branch", source=source, at_version=at)

    async def merge(self, source: str, into: str) -> Receipt:
        return await self.act(into, "merge_branch", source=source)

    async def state(self, branch: str = "main", version: int | None = None) -> SceneState:
        return await self.service.load(self.scene, branch, version)

    async def execution(self, execution_id: str, branch: str = "main") -> ExecutionRecord:
        """An execution and its tasks, running or finished."""
        found = await self.service.execution(self.scene, branch, execution_id)
        assert found is not None, f"no execution {execution_id} on {branch}"
        return found

    async def value(self, branch: str, node: str, prop: str) -> Any:
        return (await self.state(branch)).nodes[node].value(prop)


async def shots(studio: Studio, count: int = 3) -> None:
    await studio.act("main", "create_scene", title="Film")
    for n in range(1, count + 1):
        await studio.act(
            "main",
            "add_node",
            kind="shot",
            node=f"shot-{n}",
            props={"title": f"Shot {n}", "duration": 5.0},
        )
