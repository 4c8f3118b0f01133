"""Intake: every intent kind parses, and bad input names the field that was wrong."""

from __future__ import annotations

import pytest

from engine.errors import InvalidIntent, UnknownAction
from engine.intents import (
    AddNode,
    DirectEdit,
    SpeechNote,
    StructuredAction,
    TextPrompt,
    parse_intent,
)
from tests.engine.builders import EPOCH, intent


def test_each_kind_parses_into_its_struct() -> None:
    prompt = intent(kind="text_prompt", text="a lighthouse at dawn")
    note = intent(kind="speech_note", transcript="make it darker", audio="a" * 64)
    edit = intent(kind="direct_edit", node="shot-1", prop="duration", value=4)
    act = intent(kind="structured_action", action={"name": "add_node", "kind": "shot"})
    assert isinstance(prompt, TextPrompt) and prompt.text == "a lighthouse at dawn"
    assert isinstance(note, SpeechNote) and note.audio == "a" * 64
    assert isinstance(edit, DirectEdit) and edit.value == 4
    assert isinstance(act, StructuredAction) and isinstance(act.action, AddNode)


def test_missing_id_and_time_are_filled_and_common_fields_kept() -> None:
    item = parse_intent(
        b'{"kind":"text_prompt","studio":"st","actor":"bo","scene":"sc","text":"hi",'
        b'"idempotency_key":"k1","branch":"alt"}',
        now=lambda: EPOCH,
        new_id=lambda: "fresh",
    )
    assert (item.id, item.received_at, item.branch, item.idempotency_key) == (
        "fresh",
        EPOCH,
        "alt",
        "k1",
    )


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"kind": "text_prompt", "text": 5}, "text", "Expected `str`"),
        ({"kind": "text_prompt", "text": "x" * 10_001}, "text", "length <= 10000"),
        ({"kind": "text_prompt", "text": ""}, "text", "length >= 1"),
        ({"kind": "text_prompt"}, "text", "required"),
        ({"kind": "poem", "text": "x"}, "kind", "expected one of"),
        ({"kind": "speech_note", "transcript": "x", "audio": "nope"}, "audio", "matching regex"),
        ({"kind": "direct_edit", "node": "n", "prop": "p", "value": [1]}, "value", "Expected"),
        (
            {"kind": "structured_action", "action": {"name": "add_node"}},
            "action.kind",
            "required",
        ),
        (
            {"kind": "structured_action", "action": {"name": "add_node", "kind": "shot", "x": 1}},
            "action",
            "unknown field `x`",
        ),
        ({"kind": "text_prompt", "text": "x", "branch": "Bad Name"}, "branch", "matching regex"),
        ({"kind": "structured_action", "action": {}}, "action.name", "required: one of"),
        ({"kind": "text_prompt", "text": "x", "scene": "../etc"}, "scene", "matching regex"),
        (
            {
                "kind": "structured_action",
                "action": {"name": "resolve_conflict", "conflict": "c", "choice": "value"},
            },
            "action.value",
            "required with choice value",
        ),
        (
            {
                "kind": "structured_action",
                "action": {
                    "name": "resolve_conflict",
                    "conflict": "c",
                    "choice": "ours",
                    "value": 1,
                },
            },
            "action.value",
            "only with choice value",
        ),
    ],
)
def test_bad_input_names_the_field(fields: dict[str, object], field: str, reason: str) -> None:
    with pytest.raises(InvalidIntent) as caught:
        intent(**fields)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert reason in caught.value.reason


def test_unknown_action_lists_the_known_ones() -> None:
    with pytest.raises(UnknownAction) as caught:
        intent(kind="structured_action", action={"name": "explode"})
    assert caught.value.field == "action.name"
    assert "add_node" in str(caught.value)


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b"x" * 300_000, b"", b" \n"])
def test_body_that_is_not_an_intent_object_is_refused(body: bytes) -> None:
    with pytest.raises(InvalidIntent) as caught:
        parse_intent(body, now=lambda: EPOCH, new_id=lambda: "i")
    assert caught.value.field == "(body)"
