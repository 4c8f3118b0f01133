"""Benchmark figures: printed as a table, and written as JSON in the shape STYLE.md gives."""

from __future__ import annotations

import argparse
import json
import os
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table


@dataclass
class Figure:
    """One measured figure. `ratio` is value/baseline for rates and baseline/value for
    times (`higher_is_better=False`), so higher is always better."""

    name: str
    value: float
    unit: str
    baseline: float | None = None
    target: str | None = None
    met: bool | None = None
    higher_is_better: bool = True
    ratio: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.baseline is not None and self.value > 0 and self.baseline > 0:
            raw = (
                self.value / self.baseline if self.higher_is_better else self.baseline / self.value
            )
            self.ratio = round(raw, 3)


def machine() -> str:
    return f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}"


def parser(description: str) -> argparse.ArgumentParser:
    args = argparse.ArgumentParser(description=description)
    args.add_argument("--json", type=Path, help="write the figures to this file as JSON")
    return args


def report(bench: str, figures: list[Figure], json_path: Path | None) -> None:
    table = Table(title=f"bench {bench} on {machine()}")
    for column in ("figure", "value", "unit", "baseline", "ratio", "target", "met"):
        table.add_column(column)
    for f in figures:
        table.add_row(
            f.name,
            f"{f.value:,.2f}",
            f.unit,
            "-" if f.baseline is None else f"{f.baseline:,.2f}",
            "-" if f.ratio is None else f"{f.ratio:.2f}",
            f.target or "-",
            {True: "yes", False: "NO", None: "-"}[f.met],
        )
    Console().print(table)
    if json_path is not None:
        rows = []
        for f in figures:
            row = asdict(f)
            row.pop("higher_is_better")
            rows.append(row)
        json_path.write_text(
            json.dumps({"bench": bench, "machine": machine(), "figures": rows}, indent=2)
        )
