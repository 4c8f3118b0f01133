"""The project's own promises: the README's commands, lint and types."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    quick = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", quick)


def test_ci_runs_the_readmes_test_command() -> None:
    setup_and_demo, setup_and_test = readme_commands()
    assert setup_and_demo.endswith("scenestate demo")
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert setup_and_test in ci


def test_ruff_finds_nothing() -> None:
    for args in (["check", "."], ["format", "--check", "."]):
        run = subprocess.run([BIN / "ruff", *args], cwd=ROOT, capture_output=True, text=True)
        assert run.returncode == 0, run.stdout + run.stderr


def test_mypy_finds_nothing() -> None:
    run = subprocess.run([BIN / "mypy"], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_engine_imports_no_io_library() -> None:
    forbidden = (
        "sqlalchemy",
        "asyncpg",
        "aiosqlite",
        "nats",
        "httpx",
        "av",
        "fastapi",
        "adapters",
        "api",
        "projections",
        "asyncio",
        "socket",
        "os",
    )
    for path in (ROOT / "engine").glob("*.py"):
        for line in path.read_text().splitlines():
            match = re.match(r"\s*(?:from|import)\s+([\w.]+)", line)
            if match:
                top = match.group(1).split(".")[0]
                assert top not in forbidden, f"{path.name} imports {top}"


DRIVERS = ("sqlalchemy", "asyncpg", "aiosqlite", "sqlite3", "nats", "httpx", "av", "psycopg")


def _imports(path: Path) -> list[str]:
    found = []
    for line in path.read_text().splitlines():
        match = re.match(r"\s*(?:from|import)\s+([\w.]+)", line)
        if match:
            found.append(match.group(1))
    return found


def test_api_and_projections_import_no_driver_and_no_private_module_of_another_package() -> None:
    """The edges reach the outside world only through the core's ports and the
    adapters' public modules: no driver, no other package's underscore module."""
    for package in ("api", "projections"):
        for path in (ROOT / package).rglob("*.py"):
            for module in _imports(path):
                parts = module.split(".")
                assert parts[0] not in DRIVERS, f"{path.relative_to(ROOT)} imports {module}"
                private = [p for p in parts[1:] if p.startswith("_") and p != "__future__"]
                if parts[0] != package:
                    assert not private, f"{path.relative_to(ROOT)} imports {module}"


def test_projections_import_neither_adapters_nor_api() -> None:
    for path in (ROOT / "projections").rglob("*.py"):
        for module in _imports(path):
            assert module.split(".")[0] not in ("adapters", "api"), f"{path.name} imports {module}"
