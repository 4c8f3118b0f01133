"""Tenancy: nothing of one studio can be read, listed, streamed or changed with
another studio's key. Every route of the app is listed here (a new route without a
case fails the test): anything naming another studio's scene, execution, task,
conflict, artifact or webhook answers 404, exactly as if it did not exist."""

from __future__ import annotations

from typing import Any

from fastapi.routing import APIWebSocketRoute

from tests.api.http.conftest import Api, diagnose

PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
    ("GET", "/static-offline-docs"),
    ("GET", "/studio"),  # the inspector's page and assets: it signs in with a key
    ("GET", "/studio/assets/{digest}/{name:path}"),
}
ADMIN_ONLY = {
    ("POST", "/studios"),
    ("GET", "/studios"),
    ("POST", "/studios/{studio}/keys"),
    ("GET", "/studios/{studio}/keys"),
    ("DELETE", "/studios/{studio}/keys/{key}"),
    ("GET", "/metrics"),
}
# WebSockets need a real server: tests/api/http/test_streams.py refuses them with 4404.
SOCKETS = {("WS", "/scenes/{scene}/ws"), ("WS", "/scenes/{scene}/executions/{execution}/ws")}


async def _acme(api: Api) -> dict[str, str]:
    """A studio with one of everything: a scene with a branch, a conflict, a finished
    execution with its task and artifact, and a webhook."""
    await api.studio("acme")
    await api.scene("acme", "promo")
    shot = {"name": "add_node", "kind": "shot", "node": "s1", "props": {"title": "Dawn"}}
    await api.intent("acme", "promo", {"kind": "structured_action", "action": shot})
    forked = await api.request("POST", "/scenes/promo/branches", "acme", json={"name": "alt"})
    assert forked.status_code == 202
    for branch, title in (("main", "Noon"), ("alt", "Dusk")):
        action = {"name": "set_property", "node": "s1", "prop": "title", "value": title}
        body = {"kind": "structured_action", "branch": branch, "action": action}
        assert (await api.intent("acme", "promo", body)).status_code == 202
    merged = await api.request("POST", "/scenes/promo/merges", "acme", json={"source": "alt"})
    assert merged.status_code == 202, merged.text
    conflicts = (await api.request("GET", "/scenes/promo/conflicts", "acme")).json()["conflicts"]
    execution = (await api.intent("acme", "promo", diagnose(1))).json()["execution_id"]
    done = await api.finished("acme", "promo", execution)
    task = done["tasks"][0]
    hook = await api.request("POST", "/webhooks", "acme", json={"url": "http://127.0.0.1:9/x"})
    return {
        "scene": "promo",
        "execution": execution,
        "task": task["id"],
        "artifact": task["artifact"],
        "conflict": conflicts[0]["conflict"],
        "webhook": hook.json()["id"],
        "studio": "acme",
        "key": "somekey",
        "fidelity": "draft",
    }


def _routes(api: Api) -> set[tuple[str, str]]:
    """(method, path) of every route, WebSockets as WS, through included routers."""
    found: set[tuple[str, str]] = set()
    pending = list(api.app.routes)
    while pending:
        route = pending.pop()
        included = getattr(route, "original_router", None)
        if included is not None:
            pending.extend(included.routes)
        elif isinstance(route, APIWebSocketRoute):
            found.add(("WS", route.path))
        else:
            methods = getattr(route, "methods", None) or {"GET"}
            found |= {(method, getattr(route, "path", "")) for method in methods - {"HEAD"}}
    return found


BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/scenes/{scene}/intents"): {"kind": "text_prompt", "text": "steal it"},
    ("POST", "/scenes/{scene}/branches"): {"name": "mine"},
    ("POST", "/scenes/{scene}/merges"): {"source": "alt"},
    ("POST", "/scenes/{scene}/conflicts/{conflict}/resolution"): {"choice": "ours"},
    ("POST", "/scenes/{scene}/conflicts/resolution"): {"choice": "theirs"},
}


async def test_another_studios_key_finds_nothing_on_any_route(api: Api) -> None:
    ids = await _acme(api)
    await api.studio("rival")
    before = (await api.request("GET", "/scenes/promo", "acme")).json()
    checked: set[tuple[str, str]] = set()

    for method, path in sorted(_routes(api) - PUBLIC - ADMIN_ONLY - SOCKETS):
        if "{" not in path or path.startswith("/models/"):  # /models: the caller's own
            continue
        url = path.format(**ids)
        body = BODIES.get((method, path))
        answer = await api.request(method, url, "rival", json=body)
        assert answer.status_code == 404, f"{method} {url}: {answer.status_code} {answer.text}"
        assert answer.json()["error"]["code"] == "not_found"
        checked.add((method, path))

    for method, path in ADMIN_ONLY:
        answer = await api.request(method, path.format(**ids), "rival", json={"id": "x"})
        assert answer.status_code == 403, f"{method} {path}: {answer.text}"
        checked.add((method, path))

    # Listings show only the caller's own.
    assert (await api.request("GET", "/scenes", "rival")).json() == {"scenes": []}
    assert (await api.request("GET", "/webhooks", "rival")).json() == {"webhooks": []}
    keys = (await api.request("GET", "/keys", "rival")).json()
    assert {k["studio"] for k in keys} == {"rival"}
    assert (await api.request("GET", "/me", "rival")).json()["studio"] == "rival"
    checked |= {("GET", "/scenes"), ("GET", "/webhooks"), ("GET", "/keys"), ("GET", "/me")}

    # Creating what another studio has looks exactly like creating what one has oneself.
    theirs = await api.request("POST", "/scenes", "rival", json={"id": "promo"})
    own = await api.request("POST", "/scenes", "acme", json={"id": "promo"})
    assert theirs.status_code == own.status_code == 422
    assert theirs.json() == own.json()
    # What a studio creates is its own.
    uploaded = await api.request("POST", "/artifacts", "rival", content=b"mine")
    hooked = await api.request("POST", "/webhooks", "rival", json={"url": "http://127.0.0.1:9/"})
    assert uploaded.status_code == hooked.status_code == 201
    checked |= {("POST", "/scenes"), ("POST", "/artifacts"), ("POST", "/webhooks")}
    # A stream token opens only the caller's own streams.
    for body in ({"scene": "promo"}, {"scene": "promo", "execution": ids["execution"]}):
        minted = await api.request("POST", "/streams/tokens", "rival", json=body)
        assert minted.status_code == 404, minted.text
    checked.add(("POST", "/streams/tokens"))

    # A studio's models are its own: what one chooses no other studio plans.
    llama = {"model": "llama-3-8b-instruct", "provider": "replicate"}
    chose = await api.request("PUT", "/models/text", "rival", json=llama)
    assert chose.status_code == 200 and chose.json()["models"]["text"]["provider"] == "replicate"
    assert (await api.request("GET", "/models", "acme")).json()["models"]["text"]["chosen"] is False
    assert (await api.request("DELETE", "/models/text", "rival")).status_code == 200
    checked |= {("GET", "/models"), ("PUT", "/models/{kind}"), ("DELETE", "/models/{kind}")}

    assert checked | PUBLIC | SOCKETS == _routes(api), "a route has no tenancy case"
    after = (await api.request("GET", "/scenes/promo", "acme")).json()
    assert after == before  # nothing the rival tried changed the scene
    assert (await api.request("GET", f"/webhooks/{ids['webhook']}", "acme")).status_code == 200


async def test_a_request_without_a_valid_key_is_refused_with_401(api: Api) -> None:
    await api.studio("acme")
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Bearer ssk_a_b"}):
        answer = await api.http.get("/scenes", headers=headers)
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"] == "Bearer"
        assert answer.json()["error"]["code"] == "unauthenticated"


async def test_keys_are_stored_hashed_shown_once_and_revocable(api: Api) -> None:
    token = await api.studio("acme")
    listed = (await api.request("GET", "/studios/acme/keys", None)).json()
    assert len(listed) == 1 and "token" not in listed[0]
    store = api.app.state.api.services.tenancy_store
    key = await store.key(listed[0]["id"])
    assert token not in str(key) and key.secret_hash not in token
    revoked = await api.request("DELETE", f"/studios/acme/keys/{listed[0]['id']}", None)
    assert revoked.status_code == 204
    assert (await api.request("GET", "/me", "acme")).status_code == 401


async def test_a_key_over_its_rate_limit_gets_429_with_retry_after(api: Api) -> None:
    await api.studio("acme", rate_per_second=1, burst=3)
    answers = [await api.request("GET", "/me", "acme") for _ in range(5)]
    assert [a.status_code for a in answers[:3]] == [200, 200, 200]
    limited = answers[-1]
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["error"]["retry_after"] > 0
