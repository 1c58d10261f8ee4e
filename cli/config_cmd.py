"""`clawbus config`: the settings as they are (`show`, secrets masked, with where each value came from:
an env var or a key of the stored openclaw.json) and every env var (`env`)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator, Mapping
from enum import Enum
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, SecretStr
from pydantic_settings import EnvSettingsSource

from clawbus.bus.errors import ClawbusError
from clawbus.bus.settings import SHOWN_DEFAULT, Settings
from clawbus.cli.console import Console
from clawbus.cli.ops_target import exit_code_for
from clawbus.openclaw.document_settings import LoadedSettings, load_settings, store_location


def _walk(model: type[BaseModel], path: tuple[str, ...] = ()) -> Iterator[tuple[str, str, str]]:
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from _walk(annotation, (*path, name))
            continue
        env = "CLAWBUS_" + "__".join((*path, name)).upper()
        default = field.get_default(call_default_factory=True)
        shown = "" if default is None else str(default)
        if isinstance(default, Path) and default.is_relative_to(Path.home()):
            shown = str(Path("~") / default.relative_to(Path.home()))  # the same page for every user
        extra = field.json_schema_extra
        if isinstance(extra, dict) and isinstance(extra.get(SHOWN_DEFAULT), str):
            shown = str(extra[SHOWN_DEFAULT])  # what the default means, not this machine's environment
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


def _has(values: Mapping[str, Any], path: tuple[str, ...]) -> bool:
    node: Any = values
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return True


def sources(loaded: LoadedSettings) -> dict[str, dict[str, str]]:
    """Each setting that is not its default: `{"source": "env"}`, or `{"source": "document", "key":
    <the openclaw.json key>}` (an env var set as well wins, so it shows as `env`)."""
    env = EnvSettingsSource(Settings)()
    document = loaded.document
    found: dict[str, dict[str, str]] = {}
    for path in _leaves(Settings):
        dotted = ".".join(path)
        if _has(env, path):
            found[dotted] = {"source": "env"}
        elif document is not None and _has(document.values, path):
            key = next(
                document.origins[path[:n]] for n in range(len(path), 0, -1) if path[:n] in document.origins
            )
            found[dotted] = {"source": "document", "key": key}
    return found


def _leaves(model: type[BaseModel], path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from _leaves(annotation, (*path, name))
        else:
            yield (*path, name)


_SECTIONS = frozenset(leaf[:n] for leaf in _leaves(Settings) for n in range(1, len(leaf)))


def _flat(data: Mapping[str, Any], path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    for key, value in data.items():
        here = (*path, key)
        if isinstance(value, dict) and here in _SECTIONS:
            yield from _flat(value, here)
        else:
            yield ".".join(here), value


def show(
    loaded: LoadedSettings,
    location: str,
    console: Console,
    as_json: bool,
    *,
    read: bool = True,
    error: str | None = None,
) -> None:
    """Print the effective settings (secrets masked), each marked with where it came from."""
    data = _masked(loaded.settings.model_dump(mode="python"))
    found = sources(loaded)
    document = loaded.document
    unsupported = list(document.unsupported) if document else []
    about = {
        "location": location,
        "version": loaded.version,
        "read": read,
        "unsupported": unsupported,
        "ignored": list(document.ignored) if document else [],
    }
    if as_json:
        console.print(
            json.dumps(
                {"settings": data, "sources": found, "document": about} | ({"error": error} if error else {}),
                default=str,
                indent=2,
            )
        )
        return
    stored = (
        f"version {loaded.version}" if loaded.version else ("none stored" if read else "could not be read")
    )
    console.print(f"# configuration document: {location} ({stored})")
    for key in unsupported:
        console.print(f"# not applied (clawbus cannot): {key}")
    for dotted, value in _flat(data):
        origin = found.get(dotted)
        mark = ""
        if origin is not None:
            mark = "    # env" if origin["source"] == "env" else f"    # openclaw.json {origin['key']}"
        console.print(f"{dotted} = {value}{mark}")


def run_config(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    """`show` prints the effective settings (the environment over the configuration document over the
    defaults) with secrets masked and each value's source; `env` prints the env var table. `show` exits 2
    when the document cannot be read or used, as a stage would fail to start."""
    as_json = bool(args.json)
    if args.action == "env":
        console.print(env_table())
        return 0
    try:
        loaded = load_settings(settings)
    except ClawbusError as exc:
        # still show what the environment and the defaults give, so the rest can be checked
        error = f"config show: {exc} (the values shown are the environment's and the defaults only)"
        show(LoadedSettings(settings), store_location(settings), console, as_json, read=False, error=error)
        if not as_json:
            console.error(error)
        return exit_code_for(exc)
    show(loaded, store_location(settings), console, as_json)
    return 0
