"""Reading a versioned envelope from its JSON text.

Each envelope carries `schema_version`. A reader knows the versions it can read; a message of another
version is not guessed at: it is refused with `UnsupportedSchemaVersion`, and the consumer dead-letters it
with that reason (a newer producer is running ahead of this consumer).
"""

from __future__ import annotations

import json
from typing import TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class EnvelopeError(ValueError):
    """The text is not a valid envelope (not JSON, not an object, or fields that do not validate)."""


class UnsupportedSchemaVersion(EnvelopeError):
    """The envelope is well formed but of a schema version this reader does not know."""

    def __init__(self, kind: str, version: object, known: tuple[int, ...]) -> None:
        super().__init__(f"{kind} envelope has schema_version {version!r}; this reader knows {list(known)}")
        self.version = version


def read_versioned(text: str | bytes, readers: dict[int, type[M]], kind: str) -> M:
    """Parse `text` with the model registered for its `schema_version`.

    Raises:
        UnsupportedSchemaVersion: `schema_version` is missing or not one of `readers`.
        EnvelopeError: the text is not JSON, not an object, or does not validate.
    """
    try:
        data = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EnvelopeError(
            f"{kind} envelope is not JSON: {exc.msg if hasattr(exc, 'msg') else exc}"
        ) from exc
    except RecursionError as exc:  # nesting deeper than the parser goes
        raise EnvelopeError(f"{kind} envelope is not JSON: nested too deeply") from exc
    if not isinstance(data, dict):
        raise EnvelopeError(f"{kind} envelope must be a JSON object, got {type(data).__name__}")
    version = data.get("schema_version")
    model = readers.get(version) if isinstance(version, int) and not isinstance(version, bool) else None
    if model is None:
        raise UnsupportedSchemaVersion(kind, version, tuple(readers))
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in err["loc"]) or "<root>" for err in exc.errors())
        raise EnvelopeError(f"{kind} envelope v{version} is invalid at: {fields}") from exc
