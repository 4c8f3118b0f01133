"""Provenance: who and what set each value, carried by scene state and by merge events.

Structs here, in events and in scene state are declared `gc=False`: they never
form reference cycles, and leaving millions of them out of the cyclic garbage
collector roughly doubles decode-and-fold throughput.
"""

from __future__ import annotations

from typing import TypeAlias

import msgspec

PropValue: TypeAlias = str | int | float | bool | None


class Provenance(msgspec.Struct, frozen=True, gc=False, array_like=True):
    """The event that set a value: its stream coordinates and why it happened."""

    branch: str
    version: int
    intent_id: str
    execution_id: str
    actor: str
    transform: str
    transform_version: int


class Prop(msgspec.Struct, frozen=True, gc=False, array_like=True):
    value: PropValue
    provenance: Provenance


class Binding(msgspec.Struct, frozen=True, gc=False, array_like=True):
    """One artifact (by sha256) bound into a slot, who bound it, and the task that made it."""

    artifact: str
    provenance: Provenance
    task: str | None = None
