"""Stream tokens: what a browser passes as `?token=` to open one stream."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from api.schemas.common import BranchName, CreateModel, Id


class StreamTokenCreate(CreateModel):
    """Which stream a token opens: a scene's (every branch), or one execution's."""

    scene: Id
    execution: Id | None = Field(None, description="Its id, or a unique start of it.")
    branch: BranchName = Field("main", description="The branch the execution runs on.")


class StreamTokenPublic(BaseModel):
    token: str = Field(description="Pass as ?token= to the stream; it opens nothing else.")
    expires_at: datetime = Field(description="Open the stream before then; it stays open.")
    events: str = Field(description="The stream's URL, token included.")
