"""Branches of a scene: fork one from any branch at any version, merge one into
another (conflicts are recorded, never guessed), resolve conflicts one by one or
all at once, list branches, and diff two states of a scene."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from api.services import Caller, Services
from api.services.idempotency import Retry
from api.services.ids import by_prefix
from api.services.intake import Submission, submit_action
from api.services.scenes import scene_state
from engine.branch_decisions import is_conflict_id
from engine.branching import Change
from engine.errors import InvalidIntent
from engine.scene import SceneState
from engine.service import BranchInfo

Choice = Literal["ours", "theirs", "value"]


class Merged(msgspec.Struct, frozen=True):
    """A merge appended: the target branch just before and just after it."""

    submission: Submission
    before: SceneState
    after: SceneState

    @property
    def new_conflicts(self) -> int:
        return len(self.after.conflicts) - len(self.before.conflicts)


async def fork(
    services: Services,
    caller: Caller,
    scene: str,
    name: str,
    source: str = "main",
    at_version: int | None = None,
    retry: Retry | None = None,
) -> Submission:
    """A new branch `name` of `scene`, starting as `source` was at `at_version`."""
    action = {"name": "fork_branch", "source": source, "at_version": at_version}
    return await submit_action(services, caller, scene, name, action, retry)


async def merge(
    services: Services,
    caller: Caller,
    scene: str,
    source: str,
    into: str = "main",
    retry: Retry | None = None,
) -> Merged:
    before = await services.scenes.load(scene, into)
    action = {"name": "merge_branch", "source": source}
    submitted = await submit_action(services, caller, scene, into, action, retry)
    after = await services.scenes.load(scene, into, submitted.receipt.last_version)
    return Merged(submitted, before, after)


async def resolve(
    services: Services,
    caller: Caller,
    scene: str,
    conflict: str,
    choice: Choice,
    value: Any = None,
    branch: str = "main",
    retry: Retry | None = None,
) -> Submission:
    """Resolve one conflict (its id, or a unique start of it) with our side, theirs, or a
    new value."""
    state = await services.scenes.load(scene, branch)
    landed = retry is not None and retry.key is not None and is_conflict_id(conflict)
    if not (landed and conflict not in state.conflicts):  # else its key's answer says
        conflict = by_prefix(conflict, state.conflicts, "conflict", "conflict")
    action: dict[str, Any] = {"name": "resolve_conflict", "conflict": conflict, "choice": choice}
    if choice == "value":
        action["value"] = value
    return await submit_action(services, caller, scene, branch, action, retry)


async def resolve_all(
    services: Services,
    caller: Caller,
    scene: str,
    choice: Choice,
    branch: str = "main",
    retry: Retry | None = None,
) -> Submission:
    """Resolve every open conflict of a branch the same way (ours or theirs)."""
    action = {"name": "resolve_all", "choice": choice}
    return await submit_action(services, caller, scene, branch, action, retry)


async def branches(services: Services, scene: str) -> list[BranchInfo]:
    return await services.scenes.branches(scene)


async def state_at(services: Services, scene: str, ref: str, field: str) -> SceneState:
    """The state named by `BRANCH` (its head) or `BRANCH@VERSION`."""
    name, _, version = ref.partition("@")
    if version and not version.isdigit():
        raise InvalidIntent(field, f"{ref!r} is not BRANCH or BRANCH@VERSION")
    state = await scene_state(services, scene, name)
    if version and state.version < int(version):
        raise InvalidIntent(field, f"{name} is at version {state.version}; {version} is past it")
    return await scene_state(services, scene, name, int(version)) if version else state


async def diff(services: Services, old: SceneState, new: SceneState) -> list[Change]:
    """Per node and property, what differs from `old` to `new`, with who set each."""
    return await services.scenes.diff(old, new)


class StatesCompared(msgspec.Struct, frozen=True):
    """Two states of a scene, named as asked, and what differs from the first to the second."""

    old: SceneState
    new: SceneState
    changes: list[Change]


async def compare(services: Services, scene: str, old: str, new: str) -> StatesCompared:
    """What differs from `old` to `new`, each `BRANCH` or `BRANCH@VERSION`."""
    before = await state_at(services, scene, old, "old")
    after = await state_at(services, scene, new, "new")
    return StatesCompared(before, after, await diff(services, before, after))
