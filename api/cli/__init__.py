"""The `scenestate` command line; each module registers its commands on one Typer app."""

from __future__ import annotations

from api.cli import branches, executions, projections, scenes, serve
from api.cli._common import app

__all__ = ["app", "branches", "executions", "main", "projections", "scenes", "serve"]


def main() -> None:
    app()
