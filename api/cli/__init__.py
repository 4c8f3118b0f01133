"""The `scenestate` command line; each module registers its commands on one Typer app."""

from __future__ import annotations

from typing import Any

import typer

from api.cli import branches, executions, keys, models, projections, scenes, serve
from api.cli._common import app

__all__ = [
    "app",
    "branches",
    "executions",
    "keys",
    "main",
    "models",
    "projections",
    "scenes",
    "serve",
]


def main() -> None:
    # An argument's name says what it is; Typer would add a type placeholder (<str>).
    typer.core.TyperArgument.display_type_rich = lambda self, ctx: None  # type: ignore[method-assign]
    command = typer.main.get_command(app)
    _name_values(command)
    command(prog_name="scenestate")


def _name_values(command: Any) -> None:
    """Help shows what a value is by its name (`--branch BRANCH`, `SCENE`), not a type
    placeholder (`<str>`), and a flag shows nothing."""
    for param in command.params:
        if param.metavar is None and not getattr(param, "is_flag", False):
            param.metavar = (param.name or "value").upper()
    for sub in getattr(command, "commands", {}).values():  # a group's commands
        _name_values(sub)
