"""A media task's parameters and inputs: the readers are the workers' one set
(`adapters.task_params`); inputs arrive as files."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from adapters.task_params import (
    MIN_SIDE,
    Params,
    choice,
    frame_rate,
    number,
    records,
    seconds,
    side,
    whole,
)

Inputs = Mapping[str, Path]  # input name -> the file holding its bytes

__all__ = [
    "MIN_SIDE",
    "Inputs",
    "Params",
    "choice",
    "frame_rate",
    "number",
    "records",
    "seconds",
    "side",
    "whole",
]
