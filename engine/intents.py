"""Intake: what people and programs ask for, validated and normalised into typed intents.

Four kinds arrive: a text prompt, a speech note (transcript and an optional audio
artifact), a direct edit of one prop, and a structured action. `parse_intent`
turns JSON (or a mapping) into one of them, filling the id and received time when
the caller left them out, and refuses bad input with an `InvalidIntent` that names
the field and the reason. Checks that need the scene (does the node exist?) happen
later, in `engine.decisions.decide`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Annotated, Any, Literal, TypeAlias, cast

import msgspec

from engine.errors import InvalidIntent, UnknownAction
from engine.provenance import PropValue

Id = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")]
BranchName = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9._/-]{0,63}$")]
ArtifactId = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{64}$")]
PromptText = Annotated[str, msgspec.Meta(min_length=1, max_length=10_000)]
Title = Annotated[str, msgspec.Meta(max_length=200)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class Action(msgspec.Struct, frozen=True, tag_field="name", forbid_unknown_fields=True):
    """Base of the structured actions; `name` is the tag."""


class CreateScene(Action, frozen=True, tag="create_scene"):
    title: Title = ""


class AddNode(Action, frozen=True, tag="add_node"):
    kind: Name
    parent: Id = "root"
    node: Id | None = None
    after: Id | None = None
    props: dict[Name, PropValue] = {}


class RemoveNode(Action, frozen=True, tag="remove_node"):
    node: Id


class MoveNode(Action, frozen=True, tag="move_node"):
    node: Id
    parent: Id
    after: Id | None = None


class SetProperty(Action, frozen=True, tag="set_property"):
    node: Id
    prop: Name
    value: PropValue


class BindArtifact(Action, frozen=True, tag="bind_artifact"):
    node: Id
    slot: Name
    artifact: ArtifactId


class RegenerateNode(Action, frozen=True, tag="regenerate_node"):
    node: Id


class ForkBranch(Action, frozen=True, tag="fork_branch"):
    """Start the intent's branch from `source` at `at_version` (default: its head)."""

    source: BranchName = "main"
    at_version: Annotated[int, msgspec.Meta(ge=0)] | None = None


class MergeBranch(Action, frozen=True, tag="merge_branch"):
    """Merge `source` into the intent's branch."""

    source: BranchName


class ResolveConflict(Action, frozen=True, tag="resolve_conflict"):
    conflict: Id
    choice: Literal["ours", "theirs", "value"]
    value: PropValue = None


class ResolveAll(Action, frozen=True, tag="resolve_all"):
    choice: Literal["ours", "theirs"]


class Render(Action, frozen=True, tag="render"):
    """Plan and run the work that makes the scene's output at `goal` fidelity."""

    goal: Literal["preview", "production"] = "production"


class CancelExecution(Action, frozen=True, tag="cancel_execution"):
    execution: Id


class CancelTask(Action, frozen=True, tag="cancel_task"):
    task: Id


class RetryTask(Action, frozen=True, tag="retry_task"):
    """Run one failed, blocked or canceled task again in place."""

    task: Id


class Diagnose(Action, frozen=True, tag="diagnose"):
    """Run `count` diagnostic tasks through the whole pipeline (health checks,
    benchmarks, fault drills); `chain` makes each depend on the one before."""

    count: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 1
    operation: Literal["echo", "sleep", "fail", "fan_out"] = "echo"
    lane: Literal["interactive", "preview", "production"] = "interactive"
    params: dict[Name, PropValue] = {}
    chain: bool = False


AnyAction: TypeAlias = (
    CreateScene
    | AddNode
    | RemoveNode
    | MoveNode
    | SetProperty
    | BindArtifact
    | RegenerateNode
    | ForkBranch
    | MergeBranch
    | ResolveConflict
    | ResolveAll
    | Render
    | CancelExecution
    | CancelTask
    | RetryTask
    | Diagnose
)
ACTION_NAMES = (
    "create_scene",
    "add_node",
    "remove_node",
    "move_node",
    "set_property",
    "bind_artifact",
    "regenerate_node",
    "fork_branch",
    "merge_branch",
    "resolve_conflict",
    "resolve_all",
    "render",
    "cancel_execution",
    "cancel_task",
    "retry_task",
    "diagnose",
)


class Intent(
    msgspec.Struct, frozen=True, kw_only=True, tag_field="kind", forbid_unknown_fields=True
):
    """What every intent carries, whatever its kind."""

    id: Id
    studio: Id
    actor: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    scene: Id
    branch: BranchName = "main"
    idempotency_key: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None
    received_at: datetime


class TextPrompt(Intent, frozen=True, kw_only=True, tag="text_prompt"):
    text: PromptText


class SpeechNote(Intent, frozen=True, kw_only=True, tag="speech_note"):
    transcript: PromptText
    audio: ArtifactId | None = None


class DirectEdit(Intent, frozen=True, kw_only=True, tag="direct_edit"):
    node: Id
    prop: Name
    value: PropValue


class StructuredAction(Intent, frozen=True, kw_only=True, tag="structured_action"):
    action: AnyAction


AnyIntent: TypeAlias = TextPrompt | SpeechNote | DirectEdit | StructuredAction
INTENT_KINDS = ("text_prompt", "speech_note", "direct_edit", "structured_action")

MAX_INTENT_BYTES = 256 * 1024
# What every store can hold: whole numbers in 64 bits, finite floats, text without NUL
# (PostgreSQL's text refuses it) and without lone surrogates (not valid Unicode).
SMALLEST_INT, LARGEST_INT = -(2**63), 2**63 - 1
_SURROGATE = re.compile("[\ud800-\udfff]")
_FIELD_AT = re.compile(r"^(?P<reason>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)


def parse_intent(
    raw: bytes | str | Mapping[str, Any],
    *,
    now: Callable[[], datetime],
    new_id: Callable[[], str],
    defaults: Mapping[str, Any] | None = None,
) -> AnyIntent:
    """Validate raw input into a typed intent.

    `defaults` fill fields the input left out (the API sets `studio` and `actor`
    from the authenticated key); `id` and `received_at` are filled from `new_id`
    and `now` when missing.
    """
    data = _as_mapping(raw)
    merged: dict[str, Any] = {**(defaults or {}), **data}
    merged.setdefault("id", new_id())
    merged.setdefault("received_at", now())
    check_storable(merged)
    _check_kind(merged)
    action = merged.get("action")
    if isinstance(action, Mapping) and action.get("name") == "resolve_conflict":
        check_resolution(action.get("choice"), given="value" in action, field="action.value")
    try:
        return cast(AnyIntent, msgspec.convert(merged, AnyIntent, strict=False))
    except msgspec.ValidationError as exc:
        raise _invalid(str(exc)) from None


def check_resolution(choice: object, *, given: bool, field: str = "value") -> None:
    """A conflict resolved with a new value names it (null too, said outright); ours
    and theirs take none."""
    if choice == "value" and not given:
        raise InvalidIntent(field, "is required with choice value: the property's new value")
    if choice in ("ours", "theirs") and given:
        raise InvalidIntent(field, f"goes only with choice value, not {choice}")


def _as_mapping(raw: bytes | str | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(raw, Mapping):
        return dict(raw)
    if len(raw) > MAX_INTENT_BYTES:
        raise InvalidIntent("(body)", f"intent of {len(raw)} bytes is over {MAX_INTENT_BYTES}")
    if not raw.strip():
        raise InvalidIntent("(body)", "empty: an intent is a JSON object")
    try:
        data = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise InvalidIntent("(body)", f"not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidIntent("(body)", "an intent must be a JSON object")
    return data


def check_storable(value: Any, field: str = "") -> None:
    """Refuse, naming the field, any text or number no store could hold."""
    if isinstance(value, str):
        _check_text(value, field or "(body)")
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if not SMALLEST_INT <= value <= LARGEST_INT:
            raise InvalidIntent(field or "(body)", "is outside the range of a 64-bit integer")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidIntent(field or "(body)", "must be a finite number")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            shown = str(key).encode("unicode_escape", "backslashreplace").decode("ascii")
            where = f"{field}.{shown}" if field else shown
            if isinstance(key, str):
                _check_text(key, where)
            check_storable(item, where)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            check_storable(item, f"{field}.{index}" if field else str(index))


def _check_text(text: str, field: str) -> None:
    if "\x00" in text:
        raise InvalidIntent(field, "contains a NUL character (U+0000), which no store can hold")
    if _SURROGATE.search(text):
        raise InvalidIntent(field, "contains a lone surrogate, which is not valid Unicode text")


def _check_kind(data: Mapping[str, Any]) -> None:
    kind = data.get("kind")
    if kind not in INTENT_KINDS:
        raise InvalidIntent("kind", f"expected one of {', '.join(INTENT_KINDS)}, got {kind!r}")
    action = data.get("action")
    if kind == "structured_action" and isinstance(action, Mapping):
        name = action.get("name")
        if name is None:
            raise InvalidIntent("action.name", f"required: one of {', '.join(ACTION_NAMES)}")
        if name not in ACTION_NAMES:
            raise UnknownAction("action.name", str(name), ACTION_NAMES)


def _invalid(message: str) -> InvalidIntent:
    """Turn msgspec's 'reason - at `$.a.b`' into an InvalidIntent naming `a.b`."""
    match = _FIELD_AT.match(message)
    assert match is not None  # the pattern matches every string
    path = (match.group("path") or "").lstrip(".")
    path = re.sub(r"\[(\d+)\]", r".\1", path) or "(body)"
    reason = match.group("reason")
    if reason.startswith("Object missing required field"):
        missing = reason.split("`")[1]
        return InvalidIntent(f"{path}.{missing}".lstrip(".").removeprefix("(body)."), "required")
    return InvalidIntent(path, reason)
