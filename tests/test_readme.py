"""The README runs as written: every shell block after the quick start, in order, in a
fresh directory, each command with bash, as a reader would type it (with the
environment the quick start made active). Placeholders stand for ids an earlier step
printed and are replaced by them; only blocks marked `<!-- needs a server ... -->`
are left out (they run until stopped, or need `scenestate serve`). The quick start's
own two commands are what CI runs (tests/test_project.py holds them equal)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SERVER_MARK = "<!-- needs a server"
# placeholder in the README -> the ids earlier output holds, newest last
PLACEHOLDERS = {
    "EXECUTION_ID": re.compile(r"→ execution (\S+);"),
    "ARTIFACT": re.compile(r"\b([0-9a-f]{64})\b"),
    "c-0123abcd4567": re.compile(r"\b(c-[0-9a-f]{12})\b"),
}


def readme_commands() -> list[str]:
    """The commands of every runnable shell block after the quick start, in order."""
    text = (ROOT / "README.md").read_text()
    after = text.split("## Quick start", 1)[1].split("\n## ", 1)[1]
    commands: list[str] = []
    for marked, body in re.findall(r"(<!--[^\n]*-->\n)?```sh\n(.+?)\n```", after, re.S):
        if not marked.startswith(SERVER_MARK):
            commands += split_commands(body)
    return commands


def split_commands(block: str) -> list[str]:
    """One command per entry: a line continues while its quotes are open, it ends with
    a backslash, or the next line starts with a pipe; comment-only lines go."""
    commands: list[str] = []
    current = ""
    for line in block.splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current = f"{current}\n{line}" if current else line
        if current.rstrip().endswith("\\") or not _balanced(current):
            continue
        commands.append(current)
        current = ""
    merged: list[str] = []
    for command in commands:  # `... \` then `  | next` was split before the pipe
        if merged and command.lstrip().startswith("|"):
            merged[-1] += "\n" + command
        else:
            merged.append(command)
    return merged


def _balanced(command: str) -> bool:
    try:
        shlex.split(command, comments=True)
    except ValueError:
        return False
    return True


def _substitute(command: str, output: str) -> str:
    for placeholder, pattern in PLACEHOLDERS.items():
        if placeholder in command:
            seen = pattern.findall(output)
            assert seen, f"nothing printed before {command!r} gives its {placeholder}"
            command = command.replace(placeholder, seen[-1])
    return command


def test_the_readme_runs_as_written(tmp_path: Path) -> None:
    commands = readme_commands()
    assert len(commands) > 20
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCENESTATE_")}
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",  # `. .venv/bin/activate`
        VIRTUAL_ENV=str(BIN.parent),
        SCENESTATE_DEMO_FORMAT="320x180@12",  # the README's demo, small and quick
        COLUMNS="200",
        NO_COLOR="1",
    )
    output = ""
    for command in commands:
        if command.strip() == ". .venv/bin/activate":
            continue  # the environment is active already (PATH above)
        command = _substitute(command, output)
        run = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", command],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert run.returncode == 0, (
            f"{command}\n--- exit {run.returncode}\n{run.stdout}{run.stderr}"
        )
        output += run.stdout + run.stderr


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ("a\nb", ["a", "b"]),
        ("echo '{\n  1}' | x", ["echo '{\n  1}' | x"]),
        ("echo a \\\n  | x\ny", ["echo a \\\n  | x", "y"]),
        ("# only a comment\nz  # and a note", ["z  # and a note"]),
    ],
)
def test_commands_split_as_bash_reads_them(block: str, expected: list[str]) -> None:
    assert split_commands(block) == expected
