"""Reading a Dockerfile statically (no Docker daemon here): its stages, their instructions and ENV."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

DOCKER = Path(__file__).resolve().parents[2] / "infra" / "docker"
Instruction = tuple[str, str]


def stages(dockerfile: Path) -> dict[str, list[Instruction]]:
    """Stage name (`final` for an unnamed one) -> its (INSTRUCTION, arguments), continuations joined."""
    text = re.sub(r"\\\n\s*", " ", dockerfile.read_text("utf-8"))
    found: dict[str, list[Instruction]] = {}
    current: list[Instruction] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, args = line.partition(" ")
        if instruction.upper() == "FROM":
            named = re.search(r"\bAS\s+(\S+)$", args, re.IGNORECASE)
            current = found.setdefault(named.group(1) if named else "final", [])
        current.append((instruction.upper(), args.strip()))
    return found


def env(stage: list[Instruction]) -> dict[str, str]:
    """The `ENV name=value ...` a stage sets, later ones winning."""
    values: dict[str, str] = {}
    for instruction, args in stage:
        if instruction == "ENV":
            for word in shlex.split(args):
                name, _, value = word.partition("=")
                values[name] = value
    return values
