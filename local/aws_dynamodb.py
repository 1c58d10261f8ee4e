"""The loopback AWS API's DynamoDB: moto 5.2.5's backend with PartiQL `INSERT` as AWS runs it, and its
operations made atomic with each other. Patched into moto before it serves.

moto runs every PartiQL statement by copying every item of every table into the parser (O(all items) per
statement), ignores an `INSERT`'s parameters (`?` stays a literal "?") and writes over an existing item,
where DynamoDB refuses it (`DuplicateItem` in `BatchExecuteStatement`, "PartiQL insert statements for
DynamoDB"). clawbus's turn ledger inserts records of concurrent turns in one `BatchExecuteStatement`
(`storage/inserts_dynamodb.py`), so `batch_inserts` runs an `INSERT INTO "<table>" VALUE {'<name>': ?, ...}`
statement as a put under the key-absent condition; any other statement goes to moto as before.

moto's conditional writes read and then write without a lock, so two requests racing for one key on the
API's request threads could both pass their condition (without a state file no journal lock orders them).
`serialise_dynamodb` runs DynamoDB's operations one at a time, as `aws_sns.serialise_sns` does SNS's.
"""

from __future__ import annotations

import inspect
import re
import threading
from collections.abc import Callable, Sequence
from typing import Any

from clawbus.local.aws_fifo import under

_INSERT = re.compile(r'\s*INSERT\s+INTO\s+"((?:[^"]|"")+)"\s+VALUE\s+\{(.*)\}\s*', re.IGNORECASE | re.DOTALL)
_FIELD = re.compile(r"\s*'((?:[^']|'')*)'\s*:\s*\?\s*")


def parse_insert(statement: str, count: int) -> tuple[str, list[str]] | None:
    """The table and attribute names of `INSERT INTO "<table>" VALUE {'<name>': ?, ...}` whose values
    are all `count` parameters; None for any other statement (moto runs it). Pure."""
    match = _INSERT.fullmatch(statement)
    if match is None:
        return None
    fields = match.group(2).split(",") if match.group(2).strip() else []
    names = []
    for field in fields:
        found = _FIELD.fullmatch(field)
        if found is None:
            return None  # a literal value or a name holding a comma: moto's parser takes it
        names.append(found.group(1).replace("''", "'"))
    if len(names) != count:
        return None
    return match.group(1).replace('""', '"'), names


def _insert(backend: Any, table_name: str, item: dict[str, Any]) -> dict[str, Any]:
    """One statement's answer: `{}` when written, else its `Error` as `BatchExecuteStatement` gives it."""
    from moto.dynamodb.exceptions import ConditionalCheckFailed, DynamodbException, ResourceNotFoundException

    try:
        table = backend.get_table(table_name)
        backend.put_item(
            table_name,
            item,
            condition_expression="attribute_not_exists(#key)",
            expression_attribute_names={"#key": table.hash_key_attr},
        )
    except ConditionalCheckFailed:
        return {"Error": {"Code": "DuplicateItem", "Message": "Duplicate primary key exists in table"}}
    except ResourceNotFoundException:
        return {"Error": {"Code": "ResourceNotFound", "Message": "Requested resource not found"}}
    except DynamodbException as exc:
        return {"Error": {"Code": "ValidationError", "Message": exc.message}}
    return {"TableName": table_name}


def _batch_execute(original: Callable[[Any, list[dict[str, Any]]], list[dict[str, Any]]]) -> Any:
    def batch_execute_statement(self: Any, statements: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        answers = []
        for statement in statements:
            parameters = statement.get("Parameters", [])
            insert = parse_insert(statement.get("Statement", ""), len(parameters))
            if insert is None:
                answers.extend(original(self, [statement]))
                continue
            table_name, names = insert
            answers.append(_insert(self, table_name, dict(zip(names, parameters, strict=True))))
        return answers

    return batch_execute_statement


def batch_inserts() -> None:
    """Run `BatchExecuteStatement`'s parameterised `INSERT`s as DynamoDB does (module doc). Once."""
    from moto.dynamodb.models import DynamoDBBackend

    if getattr(DynamoDBBackend.batch_execute_statement, "_clawbus_inserts", False):
        return
    patched = _batch_execute(DynamoDBBackend.batch_execute_statement)
    patched._clawbus_inserts = True
    DynamoDBBackend.batch_execute_statement = patched  # type: ignore[method-assign]


def serialise_dynamodb() -> None:
    """Run every DynamoDB operation of moto one at a time (module doc). Call after `batch_inserts`."""
    from moto.dynamodb.models import DynamoDBBackend

    if getattr(DynamoDBBackend, "_clawbus_serialised", False):
        return
    lock = threading.RLock()
    for name, method in list(vars(DynamoDBBackend).items()):
        if not name.startswith("_") and inspect.isfunction(method):
            setattr(DynamoDBBackend, name, under(lock, method))
    DynamoDBBackend._clawbus_serialised = True  # type: ignore[attr-defined]
