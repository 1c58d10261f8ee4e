"""Conditional writes of several items in one request: PartiQL `INSERT`s in `BatchExecuteStatement`.

`BatchWriteItem` takes no condition and `TransactWriteItems` ties its items' fates together (one
refused item cancels them all); a PartiQL `INSERT` carries its own condition — the key is absent — and
`BatchExecuteStatement` runs up to 25 statements, each answered on its own (AWS: "PartiQL insert
statements for DynamoDB", "Running batch operations with PartiQL"). So the dispatcher's turn records of
concurrent turns, each written only where none stands, share one request (issue 21), and one refused
record refuses only its own writer.

An `INSERT` refuses any existing item, an expired one that DynamoDB's TTL has not deleted yet too;
callers that may write over an expired record (`storage/idempotency.py`) retry such a refusal with a
conditional `PutItem` that knows the TTL. Item values go as statement parameters (`?`), never in the
statement's text; attribute names are quoted literals.

Per statement, the answer is None (written) or the error that kept it out: `VersionConflict` for an
existing item (`DuplicateItem`, or `ConditionalCheckFailed`), `Throttled` / `Unavailable` for the
retryable codes, `TooLarge` for an item over DynamoDB's limit, `PermanentError` for the rest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from clawbus.bus.aws import map_aws_errors
from clawbus.bus.errors import (
    ClawbusError,
    PermanentError,
    TargetGone,
    Throttled,
    TooLarge,
    Unauthorized,
    Unavailable,
    VersionConflict,
)
from clawbus.storage._dynamodb_wire import to_attribute
from clawbus.storage.records import Item, check_size

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

MAX_STATEMENTS = 25  # BatchExecuteStatement's limit
_EXISTS = {"DuplicateItem", "ConditionalCheckFailed"}
_THROTTLED = {"ProvisionedThroughputExceeded", "RequestLimitExceeded", "ThrottlingError"}
_UNAVAILABLE = {"InternalServerError", "TransactionConflict"}


def _literal(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def insert_statement(table: str, item: Item) -> dict[str, Any]:
    """One `INSERT` of `item` into `table`, its values as parameters. Pure."""
    names = list(item)
    fields = ", ".join(f"{_literal(n)}: ?" for n in names)
    quoted = table.replace('"', '""')
    return {
        "Statement": f'INSERT INTO "{quoted}" VALUE {{{fields}}}',
        "Parameters": [to_attribute(item[n]) for n in names],
    }


def statement_error(table: str, key: Mapping[str, str], code: str, message: str) -> ClawbusError:
    """The error of one refused statement, by its `BatchStatementError` code. Pure."""
    what = f"INSERT {dict(key)} into {table}: {code}"
    if code in _EXISTS:
        return VersionConflict(f"record {dict(key)} in {table} exists; read it")
    if code in _THROTTLED:
        return Throttled(what)
    if code in _UNAVAILABLE:
        return Unavailable(what)
    if code == "ResourceNotFound":
        return TargetGone(what)
    if code == "AccessDenied":
        return Unauthorized(f"{what} (the role needs dynamodb:PartiQLInsert on the table)")
    if "size" in message.lower() and "exceed" in message.lower():
        return TooLarge(f"record {dict(key)} for {table} is over DynamoDB's 400 KB item limit")
    return PermanentError(f"{what} ({message[:200]})")


async def insert_each(
    dynamodb: DynamoDBClient, table: str, keys: Sequence[Mapping[str, str]], items: Sequence[Item]
) -> list[Exception | None]:
    """Insert each of `items` (at most 25; `keys` are their keys) where no item has its key, in one
    `BatchExecuteStatement`; per item, None when written or the error that kept it out."""
    if len(items) > MAX_STATEMENTS:
        raise ValueError(f"BatchExecuteStatement takes {MAX_STATEMENTS} statements, got {len(items)}")
    results: list[Exception | None] = [None] * len(items)
    sent: list[int] = []
    statements = []
    for i, (key, item) in enumerate(zip(keys, items, strict=True)):
        try:
            check_size(table, key, item)
        except TooLarge as exc:
            results[i] = exc
            continue
        sent.append(i)
        statements.append(insert_statement(table, item))
    if not statements:
        return results
    with map_aws_errors(f"BatchExecuteStatement {table}"):
        response = await dynamodb.batch_execute_statement(Statements=statements)  # type: ignore[arg-type]
    answers = response.get("Responses", [])
    for position, i in enumerate(sent):
        answer: Mapping[str, Any] = answers[position] if position < len(answers) else {}
        error = answer.get("Error")
        if error:
            code, message = str(error.get("Code", "")), str(error.get("Message", ""))
            results[i] = statement_error(table, keys[i], code, message)
        elif position >= len(answers):
            results[i] = Unavailable(f"BatchExecuteStatement {table}: no answer for statement {position}")
    return results
