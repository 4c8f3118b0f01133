"""The inspector's page and what it needs from the API: `/studio` answers without a
key, under a strict Content-Security-Policy, with assets under a content-hashed path;
a diff of two branches or versions; and tokens that read one artifact's bytes (for a
page's <video> and <img>) and open nothing else."""

from __future__ import annotations

import re
from typing import Any

from tests.api.http.conftest import Api

PAYLOAD = bytes(range(256)) * 8


def action(name: str, branch: str = "main", **fields: Any) -> dict[str, Any]:
    return {"kind": "structured_action", "branch": branch, "action": {"name": name, **fields}}


async def test_the_page_needs_no_key_and_allows_its_own_scripts_only(api: Api) -> None:
    page = await api.http.get("/studio")
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert page.headers["cache-control"] == "no-cache"
    assert "<script>" not in page.text and " style=" not in page.text  # nothing inline
    entry = re.search(r'src="(/studio/assets/[0-9a-f]{16}/js/main\.js)"', page.text)
    assert entry is not None, page.text


async def test_every_module_the_page_imports_is_served_and_cached_for_good(api: Api) -> None:
    page = (await api.http.get("/studio")).text
    root = re.search(r'"(/studio/assets/[0-9a-f]{16})/js/main\.js"', page)
    assert root is not None
    wanted, seen = ["js/main.js", "studio.css"], set()
    while wanted:
        name = wanted.pop()
        if name in seen:
            continue
        seen.add(name)
        asset = await api.http.get(f"{root.group(1)}/{name}")
        assert asset.status_code == 200, name
        assert "immutable" in asset.headers["cache-control"]
        if name.endswith(".js"):
            assert asset.headers["content-type"].startswith("text/javascript")
            folder = name.rsplit("/", 1)[0]
            for imported in re.findall(r'from "(\.{1,2}/[^"]+)"', asset.text):
                parts = [*folder.split("/"), *imported.split("/")]
                resolved: list[str] = []
                for part in parts:
                    if part == "..":
                        resolved.pop()
                    elif part != ".":
                        resolved.append(part)
                wanted.append("/".join(resolved))
    assert len(seen) > 8
    stale = await api.http.get("/studio/assets/0000000000000000/js/main.js")
    assert stale.status_code == 404


async def test_a_diff_of_two_branches_and_of_two_versions(api: Api) -> None:
    await api.studio("acme")
    await api.studio("other")
    created = await api.scene("acme", "promo")
    await api.intent("acme", "promo", action("add_node", kind="shot", node="s1"))
    forked = await api.request("POST", "/scenes/promo/branches", "acme", json={"name": "storm"})
    assert forked.status_code == 202, forked.text
    edit = action("set_property", "storm", node="s1", prop="title", value="Dusk")
    assert (await api.intent("acme", "promo", edit)).status_code == 202

    diff = await api.request("GET", "/scenes/promo/diff?old=main&new=storm", "acme")
    assert diff.status_code == 200, diff.text
    body = diff.json()
    assert [(c["node"], c["field"], c["old"], c["new"]) for c in body["changes"]] == [
        ("s1", "prop:title", None, "Dusk")
    ]
    assert body["changes"][0]["new_provenance"]["branch"] == "storm"

    empty = f"main@{created['last_version']}"
    versions = await api.request("GET", f"/scenes/promo/diff?old={empty}&new=main", "acme")
    assert versions.status_code == 200, versions.text
    assert ("s1", "node") in {(c["node"], c["field"]) for c in versions.json()["changes"]}

    past = await api.request("GET", "/scenes/promo/diff?old=main@99&new=main", "acme")
    assert past.status_code == 422 and past.json()["error"]["field"] == "old"
    bad = await api.request("GET", "/scenes/promo/diff?old=main@x&new=main", "acme")
    assert bad.status_code == 422
    theirs = await api.request("GET", "/scenes/promo/diff?old=main&new=storm", "other")
    assert theirs.status_code == 404


async def test_a_content_token_reads_one_artifacts_bytes_in_ranges_and_nothing_else(
    api: Api,
) -> None:
    await api.studio("acme")
    await api.studio("other")
    await api.scene("acme", "promo")
    headers = {"Content-Type": "video/mp4"}
    made = await api.request("POST", "/artifacts", "acme", content=PAYLOAD, headers=headers)
    another = await api.request("POST", "/artifacts", "acme", content=b"x" * 99, headers=headers)
    artifact, second = made.json()["id"], another.json()["id"]

    minted = await api.request("POST", f"/artifacts/{artifact[:12]}/tokens", "acme")
    assert minted.status_code == 201, minted.text
    token = minted.json()["token"]
    url = minted.json()["content"]
    assert url == f"/artifacts/{artifact}/content?token={token}"

    part = await api.http.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206, part.text
    assert part.content == PAYLOAD[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(PAYLOAD)}"

    elsewhere = await api.http.get(f"/artifacts/{second}/content?token={token}")
    assert elsewhere.status_code == 403
    for refused in ("/scenes", "/scenes/promo", f"/artifacts/{artifact}"):
        assert (await api.http.get(f"{refused}?token={token}")).status_code == 403, refused
    stream = await api.http.get(f"/scenes/promo/events?token={token}")
    assert stream.status_code == 403

    scene_token = await api.request("POST", "/streams/tokens", "acme", json={"scene": "promo"})
    streams_only = scene_token.json()["token"]
    bytes_asked = await api.http.get(f"/artifacts/{artifact}/content?token={streams_only}")
    assert bytes_asked.status_code == 403
    assert (await api.http.get(f"/artifacts/{artifact}/content")).status_code == 401
    foreign = await api.request("POST", f"/artifacts/{artifact}/tokens", "other")
    assert foreign.status_code == 404
