"""What the task buses raise.

RuntimeError
└── BusError             anything the bus itself refuses or cannot do
    ├── BusClosed        the bus was closed; nothing more can be published
    └── BusUnavailable   the broker did not confirm a publish in time
"""

from __future__ import annotations


class BusError(RuntimeError):
    """The task bus refused or could not carry out an operation."""


class BusClosed(BusError):
    def __init__(self) -> None:
        super().__init__("the task bus is closed")


class BusUnavailable(BusError):
    """NATS did not acknowledge a publish before the publish timeout ran out."""
