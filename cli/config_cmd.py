"""`clawbus config`: the settings as they are (`show`, secrets masked) and every env var (`env`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from enum import Enum
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, SecretStr

from clawbus.bus.settings import Settings

from .console import Console


def _walk(model: type[BaseModel], path: tuple[str, ...] = ()) -> Iterator[tuple[str, str, str]]:
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from _walk(annotation, (*path, name))
            continue
        env = "CLAWBUS_" + "__".join((*path, name)).upper()
        default = field.get_default(call_default_factory=True)
        shown = "" if default is None else str(default)
        if name == "data_dir":
            shown = "~/.clawbus"
        yield env, shown, _describe(annotation)


def _describe(annotation: Any) -> str:
    """A reader's name for a setting's type: `one of: a, b`, `secret`, `int`, `list of str`."""
    args = [a for a in get_args(annotation) if a is not type(None)]
    optional = type(None) in get_args(annotation)
    if get_origin(annotation) is Literal:
        text = "one of: " + ", ".join(str(a) for a in get_args(annotation))
    elif isinstance(annotation, type) and issubclass(annotation, Enum):
        text = "one of: " + ", ".join(str(m.value) for m in annotation)
    elif optional and len(args) == 1:
        return _describe(args[0]) + " (optional)"
    elif annotation is SecretStr:
        text = "secret"
    elif get_origin(annotation) is list:
        text = "list of " + _describe(args[0]) + " (JSON)"
    else:
        text = getattr(annotation, "__name__", str(annotation))
    return text


def env_table() -> str:
    """A markdown table of every setting's env var, default and type (docs/configuration.md)."""
    lines = ["| env var | default | type |", "|---|---|---|"]
    for env, default, kind in _walk(Settings):
        shown = f"`{default}`" if default else ""
        lines.append(f"| `{env}` | {shown} | {kind} |")
    return "\n".join(lines)


def _masked(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return "**********"
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    return value


def run_config(action: str, settings: Settings, console: Console, as_json: bool) -> int:
    """`show` prints the effective settings with secrets masked; `env` prints the env var table."""
    if action == "env":
        console.print(env_table())
        return 0
    data = _masked(settings.model_dump(mode="python"))
    if as_json:
        console.print(json.dumps(data, default=str, indent=2))
    else:
        for section, values in data.items():
            if isinstance(values, dict):
                for key, value in values.items():
                    console.print(f"{section}.{key} = {value}")
            else:
                console.print(f"{section} = {values}")
    return 0
