"""Artifacts over HTTP: upload, metadata, lineage, and the bytes with range requests
as a player makes them; no request reaches outside the store."""

from __future__ import annotations

import asyncio

from tests.api.http.conftest import Api, diagnose

PAYLOAD = bytes(range(256)) * 40  # 10,240 bytes


async def test_ranges_stream_exactly_the_bytes_asked_for(api: Api) -> None:
    await api.studio("acme")
    uploaded = await api.request(
        "POST", "/artifacts", "acme", content=PAYLOAD, headers={"Content-Type": "video/mp4"}
    )
    assert uploaded.status_code == 201, uploaded.text
    meta = uploaded.json()
    assert meta["size"] == len(PAYLOAD) and meta["media_type"] == "video/mp4"
    url = meta["content"]

    whole = await api.request("GET", url, "acme")
    assert whole.status_code == 200 and whole.content == PAYLOAD
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["content-type"] == "video/mp4"

    for asked, start, stop in (
        ("bytes=0-99", 0, 100),
        ("bytes=10000-", 10000, len(PAYLOAD)),
        ("bytes=-240", len(PAYLOAD) - 240, len(PAYLOAD)),
        ("bytes=10200-999999", 10200, len(PAYLOAD)),
    ):
        part = await api.request("GET", url, "acme", headers={"Range": asked})
        assert part.status_code == 206, asked
        assert part.content == PAYLOAD[start:stop], asked
        assert part.headers["content-range"] == f"bytes {start}-{stop - 1}/{len(PAYLOAD)}"
        assert int(part.headers["content-length"]) == stop - start

    outside = await api.request("GET", url, "acme", headers={"Range": "bytes=20000-"})
    assert outside.status_code == 416
    assert outside.headers["content-range"] == f"bytes */{len(PAYLOAD)}"
    etag = whole.headers["etag"]
    cached = await api.request("GET", url, "acme", headers={"If-None-Match": etag})
    assert cached.status_code == 304 and cached.content == b""


async def test_a_page_among_the_artifacts_cannot_script_the_api_origin(api: Api) -> None:
    """An upload that says text/html (or a generated surface) is served from the API's
    origin, where the inspector keeps its key: in a sandbox of its own origin, never
    sniffed into another type, whole or in part."""
    await api.studio("acme")
    page = b"<script>fetch('/scenes', {headers: {Authorization: sessionStorage.key}})</script>"
    uploaded = await api.request(
        "POST", "/artifacts", "acme", content=page, headers={"Content-Type": "text/html"}
    )
    assert uploaded.status_code == 201, uploaded.text
    for asked in ({}, {"Range": "bytes=0-9"}):
        served = await api.request("GET", uploaded.json()["content"], "acme", headers=asked)
        assert served.status_code in (200, 206), served.text
        assert served.headers["x-content-type-options"] == "nosniff"
        policy = served.headers["content-security-policy"].split()
        assert "sandbox" in policy and "allow-same-origin" not in policy


async def test_no_artifact_id_reaches_outside_the_store(api: Api) -> None:
    await api.studio("acme")
    for sneaky in (
        "..%2F..%2F..%2Fetc%2Fpasswd",
        "%2e%2e",
        "ab/../../scenestate.db",
        "A" * 64,
        "0" * 63 + "/",
    ):
        answer = await api.request("GET", f"/artifacts/{sneaky}/content", "acme")
        assert answer.status_code in (404, 422), (sneaky, answer.status_code)
        assert b"root:" not in answer.content and b"SQLite" not in answer.content
    missing = await api.request("GET", f"/artifacts/{'0' * 64}", "acme")
    assert missing.status_code == 404


async def test_a_task_result_has_metadata_and_lineage(api: Api) -> None:
    await api.studio("acme")
    await api.scene("acme", "promo")
    execution = (await api.intent("acme", "promo", diagnose(1))).json()["execution_id"]
    done = await api.finished("acme", "promo", execution)
    artifact = done["tasks"][0]["artifact"]
    meta = await api.request("GET", f"/artifacts/{artifact}", "acme")
    assert meta.status_code == 200 and meta.json()["media_type"] == "application/json"
    async with asyncio.timeout(10):
        while True:  # the lineage read model follows the log a moment behind
            lineage = await api.request("GET", f"/artifacts/{artifact}/lineage", "acme")
            if lineage.status_code != 404:
                break
            await asyncio.sleep(0.05)
    assert lineage.status_code == 200, lineage.text
    body = lineage.json()
    assert body["operations"] == ["echo"]
    assert body["root_intents"][0]["intent_id"] == done["intent_id"]


async def test_an_intent_cannot_bind_an_artifact_its_studio_never_had(api: Api) -> None:
    await api.studio("acme")
    await api.studio("rival")
    secret = await api.request("POST", "/artifacts", "acme", content=b"acme only")
    artifact = secret.json()["id"]
    await api.scene("rival", "heist")
    shot = {"name": "add_node", "kind": "shot", "node": "s1"}
    await api.intent("rival", "heist", {"kind": "structured_action", "action": shot})
    bind = {"name": "bind_artifact", "node": "s1", "slot": "image", "artifact": artifact}
    refused = await api.intent("rival", "heist", {"kind": "structured_action", "action": bind})
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "action.artifact"
