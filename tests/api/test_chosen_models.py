"""Planning's view of a studio's model choices: asked once per studio and kept
briefly, shared by callers that ask together, forgotten when a choice is made here."""

from __future__ import annotations

import asyncio

import pytest

from api.services.chosen_models import ChosenModels
from engine.models import LOCAL_CHOICES, ModelChoice, ModelChoices

LLAMA = ModelChoice("llama-3-8b-instruct", "replicate")


class Choices:
    """A tenancy store's model choices that counts its queries and can hold them."""

    def __init__(self) -> None:
        self.chosen: dict[str, ModelChoices] = {}
        self.queries = 0
        self.gate = asyncio.Event()
        self.gate.set()
        self.failing = False
        self.started: asyncio.Queue[str] = asyncio.Queue()  # a studio per query begun

    async def model_choices(self, studio: str) -> ModelChoices:
        self.queries += 1
        answer = self.chosen.get(studio, LOCAL_CHOICES)
        self.started.put_nowait(studio)
        await self.gate.wait()
        if self.failing:
            raise ConnectionError("the database went away")
        return answer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_choices_are_asked_once_and_kept_for_a_second() -> None:
    store, clock = Choices(), Clock()
    models = ChosenModels(store, keep_seconds=1.0, clock=clock)
    assert await models.model_choices("acme") == LOCAL_CHOICES
    store.chosen["acme"] = LOCAL_CHOICES.with_choice("text", LLAMA)
    clock.now += 0.9
    assert await models.model_choices("acme") == LOCAL_CHOICES  # kept
    assert store.queries == 1
    clock.now += 0.2
    assert (await models.model_choices("acme")).of("text") == LLAMA  # asked again
    assert store.queries == 2


async def test_a_choice_made_here_is_seen_at_once() -> None:
    store = Choices()
    models = ChosenModels(store)
    await models.model_choices("acme")
    store.chosen["acme"] = LOCAL_CHOICES.with_choice("text", LLAMA)
    models.forget("acme")
    assert (await models.model_choices("acme")).of("text") == LLAMA


async def test_callers_asking_together_share_one_query() -> None:
    store = Choices()
    models = ChosenModels(store)
    store.gate.clear()
    asking = [asyncio.create_task(models.model_choices("acme")) for _ in range(50)]
    await asyncio.sleep(0)
    store.gate.set()
    assert all(found == LOCAL_CHOICES for found in await asyncio.gather(*asking))
    assert store.queries == 1


async def test_an_answer_asked_for_before_a_choice_is_not_kept() -> None:
    store = Choices()
    models = ChosenModels(store)
    store.gate.clear()
    before = asyncio.create_task(models.model_choices("acme"))
    await store.started.get()  # its query has read the old choices and waits
    store.chosen["acme"] = LOCAL_CHOICES.with_choice("text", LLAMA)
    models.forget("acme")
    after = asyncio.create_task(models.model_choices("acme"))
    await store.started.get()
    store.gate.set()
    assert await before == LOCAL_CHOICES
    assert (await after).of("text") == LLAMA
    assert (await models.model_choices("acme")).of("text") == LLAMA
    assert store.queries == 2


async def test_a_failed_query_reaches_its_callers_and_is_not_kept() -> None:
    store = Choices()
    models = ChosenModels(store)
    store.failing = True
    with pytest.raises(ConnectionError):
        await models.model_choices("acme")
    store.failing = False
    assert await models.model_choices("acme") == LOCAL_CHOICES
    assert store.queries == 2
