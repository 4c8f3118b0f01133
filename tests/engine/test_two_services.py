"""Two engine services on one store, as two API processes are: each decides on the
newest state it knows and still never acts on, or refuses because of, old news."""

from __future__ import annotations

import pytest

from engine.errors import InvalidIntent
from engine.ports import StreamId
from tests.engine.scenes import Studio


async def test_an_edit_to_a_node_the_other_process_made_is_accepted() -> None:
    one = Studio(scene="film")
    two = Studio(one.store, scene="film")
    await one.act("main", "create_scene")
    await two.state()  # two's cache now holds the scene without the shot
    await one.act("main", "add_node", kind="shot", node="shot-9")
    await two.set("main", "shot-9", "title", "Made elsewhere")
    assert (await one.state()).nodes["shot-9"].value("title") == "Made elsewhere"


async def test_edits_from_both_processes_all_land_in_order() -> None:
    one = Studio(scene="film")
    two = Studio(one.store, scene="film")
    await one.act("main", "create_scene")
    await one.act("main", "add_node", kind="shot", node="shot-1")
    for n in range(6):
        await (one if n % 2 else two).set("main", "shot-1", "title", f"take {n}")
    state = await one.state()
    assert state.nodes["shot-1"].value("title") == "take 5"
    assert (await two.state()).version == state.version


async def test_a_refusal_is_given_on_the_stores_state() -> None:
    one = Studio(scene="film")
    two = Studio(one.store, scene="film")
    await one.act("main", "create_scene")
    await one.act("main", "add_node", kind="shot", node="shot-1")
    await two.state()
    await one.act("main", "remove_node", node="shot-1")
    with pytest.raises(InvalidIntent, match="shot-1"):
        await two.set("main", "shot-1", "title", "gone")


async def test_a_state_at_least_this_far_is_the_newest_known_else_the_stores_head() -> None:
    one = Studio(scene="film")
    two = Studio(one.store, scene="film")
    await one.act("main", "create_scene")
    mid = (await one.act("main", "add_node", kind="shot", node="shot-1")).last_version
    head = (await one.set("main", "shot-1", "title", "Later")).last_version
    known = one.service.cache.newest(StreamId("film", "main"))
    # one appended past `mid`: its own newest state serves, no older one is folded
    assert await one.service.load_newer("film", "main", mid) is known
    # two knows nothing that far: it reads the store's head
    await two.state()  # now at head
    newest = (await one.set("main", "shot-1", "title", "Newest")).last_version
    newer = await two.service.load_newer("film", "main", head + 1)
    assert newer.version == newest
    assert newer.nodes["shot-1"].value("title") == "Newest"
