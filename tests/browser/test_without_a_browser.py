"""Without Chromium the browser tests say so: skipped on a developer's machine, failed
under CI, so a CI that lost its browser cannot pass green."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import conftest


def test_a_missing_browser_skips_here_and_fails_under_ci(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(conftest, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="no-chromium is missing"):
        conftest.require_browser()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="under CI need a browser"):
        conftest.require_browser()
