"""Branches, merges and conflicts."""

from __future__ import annotations

from typing import Any, Literal, Self

import msgspec
from pydantic import BaseModel, Field, model_validator

from api.schemas.common import BranchName, CreateModel, PropValue, ProvenancePublic
from engine.branching import Change
from engine.events import ConflictRecorded, ConflictSide
from engine.intents import check_resolution
from engine.service import BranchInfo


class BranchCreate(CreateModel):
    name: BranchName
    source: BranchName = "main"
    at_version: int | None = Field(
        None, ge=0, le=2**63 - 1, description="Default: the source's head."
    )


class MergePublic(BaseModel):
    source: str
    source_version: int
    version: int


class BranchPublic(BaseModel):
    name: str
    parent: str | None
    fork_version: int
    head_version: int
    merges: list[MergePublic]
    open_conflicts: int

    @classmethod
    def of(cls, info: BranchInfo) -> BranchPublic:
        return cls(
            name=info.name,
            parent=info.parent,
            fork_version=info.fork_version,
            head_version=info.head_version,
            merges=[
                MergePublic(source=m.source, source_version=m.source_version, version=m.version)
                for m in info.merges
            ],
            open_conflicts=info.open_conflicts,
        )


class BranchList(BaseModel):
    branches: list[BranchPublic]


class MergeCreate(CreateModel):
    source: BranchName
    into: BranchName = "main"


class SidePublic(BaseModel):
    present: bool
    value: PropValue = None
    order: str | None = None
    provenance: ProvenancePublic | None = None
    node: dict[str, Any] | None = None

    @classmethod
    def of(cls, side: ConflictSide) -> SidePublic:
        return cls(
            present=side.present,
            value=side.value,
            order=side.order,
            provenance=ProvenancePublic.of(side.provenance) if side.provenance else None,
            node=msgspec.to_builtins(side.node) if side.node is not None else None,
        )


class ConflictPublic(BaseModel):
    conflict: str
    node: str
    field: str
    source: str
    base: SidePublic
    ours: SidePublic
    theirs: SidePublic

    @classmethod
    def of(cls, conflict: ConflictRecorded) -> ConflictPublic:
        return cls(
            conflict=conflict.conflict,
            node=conflict.node,
            field=conflict.field,
            source=conflict.source,
            base=SidePublic.of(conflict.base),
            ours=SidePublic.of(conflict.ours),
            theirs=SidePublic.of(conflict.theirs),
        )


class ConflictList(BaseModel):
    branch: str
    conflicts: list[ConflictPublic]


class ResolutionCreate(CreateModel):
    choice: Literal["ours", "theirs", "value"]
    value: PropValue = Field(None, description="The new value; only, and always, with `value`.")

    @model_validator(mode="after")
    def _value_with_its_choice(self) -> Self:
        check_resolution(self.choice, given="value" in self.model_fields_set)
        return self


class ResolveAllCreate(CreateModel):
    choice: Literal["ours", "theirs"]


class ChangePublic(BaseModel):
    node: str
    field: str = Field(description="`node`, `parent`, `order`, `prop:NAME` or `slot:NAME`.")
    old: PropValue | list[str] = Field(description="None where the node or value is absent.")
    new: PropValue | list[str]
    old_provenance: ProvenancePublic | None
    new_provenance: ProvenancePublic | None

    @classmethod
    def of(cls, change: Change) -> ChangePublic:
        old, new = change.old_provenance, change.new_provenance
        return cls(
            node=change.node,
            field=change.field,
            old=change.old,
            new=change.new,
            old_provenance=ProvenancePublic.of(old) if old is not None else None,
            new_provenance=ProvenancePublic.of(new) if new is not None else None,
        )


class DiffPublic(BaseModel):
    old: str
    new: str
    old_version: int
    new_version: int
    changes: list[ChangePublic]
