"""A branch's view at one fidelity: the draft timeline, the preview proxies, or the
production render and what it still lacks (the documents `projections` builds)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ViewPublic(BaseModel):
    scene: str
    branch: str
    fidelity: str
    version: int
    view: dict[str, Any] = Field(description="projections.timeline / projections.fidelity.")
