"""What a demo run sets before it plans: the film's format and the edits it was given
are what the scene holds afterwards, whatever earlier runs asked for (a format, or an
edit, asked for again after another is a change again, not a replay of the first)."""

from __future__ import annotations

from pathlib import Path

from api.bootstrap import open_services
from api.config import load_settings
from api.demo import SCENE, FilmFormat, _change, _set_up_scene


async def test_each_run_leaves_the_format_and_the_edits_it_asked_for(tmp_path: Path) -> None:
    settings = load_settings({"SCENESTATE_DATA_DIR": str(tmp_path)})
    async with open_services(settings) as services:
        for film in (FilmFormat(320, 180, 8), FilmFormat(640, 360, 12), FilmFormat(320, 180, 8)):
            await _set_up_scene(services, film)
            root = (await services.scenes.load(SCENE)).nodes["root"]
            assert (root.value("width"), root.value("height"), root.value("fps")) == (
                film.width,
                film.height,
                film.fps,
            )
        for title in ("Dusk", "Dawn", "Dusk"):
            await _change(services, "root", "title", title, direct=False)
            assert (await services.scenes.load(SCENE)).nodes["root"].value("title") == title
        version = (await services.scenes.load(SCENE)).version
        assert await _change(services, "root", "title", "Dusk", direct=False) is None
        assert (await services.scenes.load(SCENE)).version == version  # nothing to change
