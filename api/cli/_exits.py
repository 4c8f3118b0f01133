"""How a CLI command ends when something goes wrong: one line that says what and what
to do, and an exit code of its own (the README's table); a traceback only with
`--debug`."""

from __future__ import annotations

from enum import IntEnum

from rich.text import Text

from api.cli.styled import styled
from api.config import ConfigError, Settings
from engine.errors import (
    ConcurrencyConflict,
    InvalidIntent,
    Misconfigured,
    NotFound,
    ScenestateError,
    Unavailable,
)


class Exit(IntEnum):
    FAILED = 1  # anything else
    REFUSED = 2  # bad input: the field and the reason were said
    CONFLICT = 3  # the scene moved on meanwhile: look again, then retry
    NOT_FOUND = 4  # a scene, branch, execution or artifact that is not there
    UNREACHABLE = 5  # a database, bus or port that cannot be reached or used now
    CONFIGURATION = 6  # a setting that must change (a variable, a database's name)
    INTERRUPTED = 130  # Ctrl-C


_VARIABLES = {
    "database": "SCENESTATE_DATABASE_URL",
    "task bus": "SCENESTATE_NATS_URL",
    "artifact store": "SCENESTATE_ARTIFACTS",
}


def explain(failure: BaseException, settings: Settings | None) -> tuple[Text, Exit]:
    """The one line to print for `failure`, and the exit code."""
    kind, said, code = _explained(failure, settings)
    return styled("[red]{kind}:[/] {said}", kind=kind, said=said), code


def _explained(failure: BaseException, settings: Settings | None) -> tuple[str, str, Exit]:
    """What kind of problem, the rest of its line, and the exit code."""
    if isinstance(failure, ConfigError):
        return "configuration", str(failure), Exit.CONFIGURATION
    if isinstance(failure, InvalidIntent):
        return "refused", str(failure), Exit.REFUSED
    if isinstance(failure, ConcurrencyConflict):
        return "conflict", str(failure), Exit.CONFLICT
    if isinstance(failure, NotFound):
        return "not found", str(failure), Exit.NOT_FOUND
    if isinstance(failure, Misconfigured):
        hint = _where(failure.backend, settings)
        return "configuration", f"{failure}; {hint}", Exit.CONFIGURATION
    if isinstance(failure, Unavailable):
        hint = _where(failure.backend, settings)
        return "unreachable", f"{failure}; {hint}, and that it is running", Exit.UNREACHABLE
    if isinstance(failure, ScenestateError):
        return "error", str(failure), Exit.FAILED
    if isinstance(failure, OSError) and settings is not None and _under(failure, settings):
        where = settings.data_dir
        why = failure.strerror or failure
        return (
            "configuration",
            f"SCENESTATE_DATA_DIR ({where}) cannot be used: {why}",
            Exit.CONFIGURATION,
        )
    said = str(failure).strip().splitlines()
    reason = f"{type(failure).__name__}: {said[0]}" if said else type(failure).__name__
    return "error", f"{reason} (run again with --debug for the traceback)", Exit.FAILED


def _under(failure: OSError, settings: Settings) -> bool:
    """Whether a file error is about the data directory (or something in it)."""
    name = str(failure.filename or "")
    return bool(name) and name.startswith(str(settings.data_dir).rstrip("/"))


def _where(backend: str, settings: Settings | None) -> str:
    variable = _VARIABLES.get(backend, "the SCENESTATE_ settings")
    if settings is None or variable not in _VARIABLES.values():
        return f"check {variable}"
    now = {
        "SCENESTATE_DATABASE_URL": redacted(settings.database_url),
        "SCENESTATE_NATS_URL": settings.nats_url or "(not set)",
        "SCENESTATE_ARTIFACTS": settings.artifact_store,
    }[variable]
    return f"check {variable} (now {now})"


def redacted(url: str) -> str:
    """A URL without its password, fit to print."""
    head, sep, tail = url.rpartition("@")
    if not sep:
        return url
    scheme, _, credentials = head.partition("://")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}@{tail}" if user else f"{scheme}://{tail}"
