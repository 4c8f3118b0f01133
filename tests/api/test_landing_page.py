"""The demo's landing page in a real browser: Debian's headless Chromium (driven by
Playwright, never a downloaded browser) opens `film/index.html` from disk, as a
visitor would, and sees the tagline as the headline, the copy laid out, the film
embedded with its poster, and the page's script run; the screenshot is kept in
docs/screenshots/landing-page.png. Without Chromium the test is skipped, except in CI,
where it fails."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import Cli

ROOT = Path(__file__).resolve().parent.parent.parent
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = ROOT / "docs" / "screenshots" / "landing-page.png"
TAGLINE = "One night, one light, and the keeper who keeps it."


def chromium() -> Path:
    found = CHROMIUM if CHROMIUM.exists() else None
    if found is None and shutil.which("chromium"):
        found = Path(str(shutil.which("chromium")))
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI needs Debian's chromium (apt-get install chromium) for this test")
        pytest.skip("no chromium here (Debian's package: apt-get install chromium)")
    return found


async def settled_screenshot(page: Any, within: float = 15.0) -> bytes:
    """A screenshot once the page has stopped moving: two in a row are the same (the
    player's controls fade their loading spinner out a while after the film is in)."""
    async with asyncio.timeout(within):
        previous = b""
        while True:
            shot: bytes = await page.screenshot(full_page=True)
            if shot == previous:
                return shot
            previous = shot


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_landing_page_renders_in_headless_chromium(cli: Cli) -> None:
    browser_path = chromium()
    playwright = pytest.importorskip("playwright.async_api")
    film = cli.cwd / "film.mp4"
    cli("demo", "--format", "640x360@12", "--output", str(film))
    page_file = cli.cwd / "film" / "index.html"

    async with playwright.async_playwright() as driver:
        browser = await driver.chromium.launch(
            executable_path=str(browser_path), args=["--no-sandbox"]
        )
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 800})
            await page.goto(page_file.as_uri())
            await page.wait_for_function("document.documentElement.dataset.ready === 'yes'")
            # the film decodes: frames ahead of the first are in (and no spinner shows)
            await page.wait_for_function(
                "(() => { const v = document.querySelector('video');"
                " return v && v.readyState >= 3; })()"
            )
            assert (await page.inner_text("h1")).strip() == TAGLINE
            assert "lighthouse keeper" in await page.inner_text(".body")
            assert await page.is_visible("button")
            video = page.locator("video")
            assert await video.get_attribute("aria-label")
            duration = await video.evaluate("v => v.duration")
            assert abs(duration - 15.0) < 0.5  # the whole film, embedded
            box = await video.bounding_box()
            assert box is not None and box["width"] <= 1280 and box["x"] >= 0
            overflow = await page.evaluate(
                "document.documentElement.scrollWidth <= window.innerWidth"
            )
            assert overflow, "the page is wider than its surface"
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            SCREENSHOT.write_bytes(await settled_screenshot(page))
        finally:
            await browser.close()
    assert SCREENSHOT.stat().st_size > 10_000
