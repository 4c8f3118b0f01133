"""A branch as it was: at a version, or at a moment (through the history read model,
which knows when each version was recorded)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from engine.errors import InvalidIntent, NotFound
from engine.scene import SceneState
from engine.service import SceneService
from projections.history import version_at
from projections.ports import ReadModelStore
from projections.times import parse_moment

LARGEST_VERSION = 2**63 - 1  # versions and positions are 64-bit in every store
_WRITTEN = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:[T ](?P<hour>\d{2})(?::(?P<minute>\d{2})"
    r"(?::(?P<second>\d{2})(?P<fraction>[.,]\d+)?)?)?)?"
)


def parse_as_of(text: str, field: str = "--as-of") -> int | datetime:
    """A version (a whole number) or an ISO 8601 moment. A moment written to the second
    (as `history` prints them), the minute or the day means the end of it: as of
    `03:10:13` includes what was recorded at 03:10:13.456."""
    if text.strip().isdigit():
        version = int(text)
        if version > LARGEST_VERSION:
            raise InvalidIntent(field, f"version {text.strip()} is past any stream's last version")
        return version
    if text.strip().removeprefix("-").isdigit():
        raise InvalidIntent(field, f"a version is 0 or more, not {text.strip()}")
    try:
        return parse_moment(text, field) + _rest_of_written_unit(text.strip())
    except InvalidIntent:
        raise InvalidIntent(
            field, f"{text!r} is neither a version (a whole number) nor an ISO 8601 time"
        ) from None


def _rest_of_written_unit(text: str) -> timedelta:
    match = _WRITTEN.match(text)
    if match is None or match.group("fraction"):
        return timedelta(0)
    if match.group("second"):
        unit = timedelta(seconds=1)
    elif match.group("minute"):
        unit = timedelta(minutes=1)
    elif match.group("hour"):
        unit = timedelta(hours=1)
    else:
        unit = timedelta(days=1)
    return unit - timedelta(microseconds=1)


async def state_as_of(
    scenes: SceneService,
    read_models: ReadModelStore,
    scene: str,
    branch: str,
    at: int | datetime,
) -> SceneState:
    if isinstance(at, datetime):
        version = await version_at(read_models, scene, branch, at)
        if version == 0:
            raise NotFound(f"{scene}@{branch} had no events at or before {at.isoformat()}")
    else:
        if at < 0:
            raise InvalidIntent("--as-of", "a version must be 0 or more")
        version = at
    state = await scenes.load(scene, branch, version)
    if not state.created:
        raise await scenes.missing(scene, branch, version)
    if state.version < version:  # a version not reached yet, as a diff says of one
        raise InvalidIntent(
            "version", f"{scene}@{branch} is at version {state.version}; {version} is past it"
        )
    return state
