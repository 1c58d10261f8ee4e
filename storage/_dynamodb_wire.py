"""DynamoDB's wire shapes for the record store: attribute values and expressions with placeholders."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clawbus.storage.records import Absent, AnyOf, Compare, Condition


def to_attribute(value: Any) -> dict[str, Any]:
    """A Python value as a DynamoDB attribute value (`{"S": ...}`, `{"N": ...}`, ...)."""
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int | float):
        return {"N": str(value)}
    if isinstance(value, bytes):
        return {"B": value}
    if value is None:
        return {"NULL": True}
    if isinstance(value, frozenset | set):
        return {"SS": sorted(value)}
    if isinstance(value, list | tuple):
        return {"L": [to_attribute(v) for v in value]}
    if isinstance(value, Mapping):
        return {"M": {k: to_attribute(v) for k, v in value.items()}}
    raise TypeError(f"cannot store a {type(value).__name__} in a record")


def from_attribute(attribute: Mapping[str, Any]) -> Any:
    """The Python value of a DynamoDB attribute value (numbers: `int` when whole, else `float`)."""
    ((kind, value),) = attribute.items()
    if kind == "N":
        number = float(value)
        return int(value) if number.is_integer() and "." not in value and "e" not in value.lower() else number
    if kind in ("SS", "NS", "BS"):
        return frozenset(value)
    if kind == "L":
        return [from_attribute(v) for v in value]
    if kind == "M":
        return {k: from_attribute(v) for k, v in value.items()}
    if kind == "NULL":
        return None
    return value


class Expression:
    """Placeholders for one request's expressions (so reserved words like `state` need no care)."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}

    def name(self, attribute: str) -> str:
        placeholder = f"#a{len(self.names)}"
        self.names[placeholder] = attribute
        return placeholder

    def value(self, value: Any) -> str:
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = to_attribute(value)
        return placeholder

    def condition(self, condition: Condition, hash_key: str) -> str:
        if isinstance(condition, Absent):
            return f"attribute_not_exists({self.name(hash_key)})"
        if isinstance(condition, Compare):
            return f"{self.name(condition.attribute)} {condition.op} {self.value(condition.value)}"
        joiner = " OR " if isinstance(condition, AnyOf) else " AND "
        return "(" + joiner.join(self.condition(c, hash_key) for c in condition.conditions) + ")"

    def kwargs(self, condition: Condition | None, hash_key: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if condition is not None:
            out["ConditionExpression"] = self.condition(condition, hash_key)
        if self.names:
            out["ExpressionAttributeNames"] = self.names
        if self.values:
            out["ExpressionAttributeValues"] = self.values
        return out
