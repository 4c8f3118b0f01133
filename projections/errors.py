"""Errors of the projections, as part of the engine's hierarchy (the CLI prints them).

ScenestateError
├── ProjectionFailed   a projection could not fold an event; names its position
└── NotFound           (engine) an artifact, scene or projection that is not there
"""

from __future__ import annotations

from engine.errors import ScenestateError


class ProjectionFailed(ScenestateError):
    """A projection raised on an event; its checkpoint stays just before that event."""

    def __init__(self, projection: str, position: int, event_type: str, cause: BaseException):
        super().__init__(
            f"projection {projection!r} failed on the event at position {position} "
            f"({event_type}): {type(cause).__name__}: {cause}; "
            f"its checkpoint stays at {position - 1}"
        )
        self.projection = projection
        self.position = position
        self.event_type = event_type
        self.cause = cause
