"""A studio's model choices over HTTP: each kind of work is local until the studio
chooses a hosted model; recipes then plan that model on that provider, for the film
and its surfaces alike; a choice no provider offers is refused and changes nothing."""

from __future__ import annotations

from tests.api.http.conftest import Api

LLAMA = {"model": "llama-3-8b-instruct", "provider": "replicate"}
PROMPT = "A 1-shot film about a lighthouse keeper, with captions, and a landing page for it"


async def test_every_kind_of_work_is_local_until_the_studio_chooses(api: Api) -> None:
    await api.studio("acme")
    found = (await api.request("GET", "/models", "acme")).json()
    assert set(found["models"]) == {"image", "video", "voice", "music", "text", "code"}
    assert {m["provider"] for m in found["models"].values()} == {"local"}

    chosen = await api.request("PUT", "/models/text", "acme", json=LLAMA)
    assert chosen.status_code == 200, chosen.text
    text = chosen.json()["models"]["text"]
    assert (text["model"], text["provider"], text["chosen"]) == (*LLAMA.values(), True)

    back = (await api.request("DELETE", "/models/text", "acme")).json()["models"]["text"]
    assert (back["provider"], back["chosen"]) == ("local", False)


async def test_a_choice_no_provider_offers_is_refused_naming_what_was_wrong(api: Api) -> None:
    await api.studio("acme")
    refusals = {
        ("poetry", "local-copy-1", "local"): "kind",
        ("text", "llama-3-8b-instruct", "acme-cloud"): "provider",
        ("music", "llama-3-8b-instruct", "replicate"): "provider",
        ("text", "gpt-9", "fal"): "model",
    }
    for (kind, model, provider), field in refusals.items():
        body = {"model": model, "provider": provider}
        answer = await api.request("PUT", f"/models/{kind}", "acme", json=body)
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["field"] == field, answer.text
    found = (await api.request("GET", "/models", "acme")).json()["models"]
    assert not any(m["chosen"] for m in found.values())


async def test_the_recipes_plan_the_models_the_studio_chose(api: Api) -> None:
    await api.studio("acme")
    for kind, body in (("text", LLAMA), ("image", {"model": "flux-schnell", "provider": "fal"})):
        assert (await api.request("PUT", f"/models/{kind}", "acme", json=body)).status_code == 200
    await api.scene("acme", "lighthouse")

    accepted = await api.intent("acme", "lighthouse", {"kind": "text_prompt", "text": PROMPT})
    execution = accepted.json()["execution_id"]
    url = f"/scenes/lighthouse/executions/{execution}"
    await api.request("POST", f"{url}/cancel", "acme")
    tasks = (await api.request("GET", url, "acme")).json()["tasks"]

    planned = {(t["operation"], t["model"], t["provider"]) for t in tasks}
    assert ("write_copy", "llama-3-8b-instruct", "replicate") in planned
    assert ("text_to_image", "flux-schnell", "fal") in planned
    assert ("write_page", "local-page-1", "local") in planned  # code was not chosen


async def test_a_choice_is_planned_by_the_very_next_intent(api: Api) -> None:
    """Planning keeps a studio's choices briefly; choosing through the server forgets
    them, so an intent planned just before a choice does not hide it from the next."""
    await api.studio("acme")
    await api.scene("acme", "lighthouse")

    async def planned_text_model() -> tuple[str, str]:
        accepted = await api.intent("acme", "lighthouse", {"kind": "text_prompt", "text": PROMPT})
        url = f"/scenes/lighthouse/executions/{accepted.json()['execution_id']}"
        await api.request("POST", f"{url}/cancel", "acme")
        tasks = (await api.request("GET", url, "acme")).json()["tasks"]
        return next((t["model"], t["provider"]) for t in tasks if t["operation"] == "write_copy")

    assert (await planned_text_model())[1] == "local"
    assert (await api.request("PUT", "/models/text", "acme", json=LLAMA)).status_code == 200
    assert await planned_text_model() == (LLAMA["model"], LLAMA["provider"])
    assert (await api.request("DELETE", "/models/text", "acme")).status_code == 200
    assert (await planned_text_model())[1] == "local"
