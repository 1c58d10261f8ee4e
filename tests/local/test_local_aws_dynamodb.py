"""The loopback AWS API's DynamoDB (`local/aws_dynamodb.py`): a PartiQL `INSERT` in
`BatchExecuteStatement` behaves as DynamoDB's — its parameters stored as the typed values they are, an
existing key refused with `DuplicateItem` on that statement alone — and racing writers of one key are
ordered, so exactly one of them wins."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from clawbus.bus.topology import ledger_table_name
from clawbus.local.aws_dynamodb import parse_insert
from tests.conftest import Bus


def _insert(table: str, pk: str, value: dict[str, Any]) -> dict[str, Any]:
    return {
        "Statement": f"INSERT INTO \"{table}\" VALUE {{'pk': ?, 'it''s': ?}}",
        "Parameters": [{"S": pk}, value],
    }


def test_an_insert_is_parsed_only_in_the_parameterised_form_moto_cannot_run() -> None:
    assert parse_insert("INSERT INTO \"t-1\" VALUE {'pk': ?, 'state': ?}", 2) == ("t-1", ["pk", "state"])
    assert parse_insert("insert into \"a\"\"b\" value {'it''s': ?}", 1) == ('a"b', ["it's"])
    assert parse_insert("INSERT INTO \"t\" VALUE {'pk': 'literal'}", 0) is None  # moto's parser runs it
    assert parse_insert("INSERT INTO \"t\" VALUE {'pk': ?}", 2) is None  # parameters do not match
    assert parse_insert('SELECT * FROM "t" WHERE pk = ?', 1) is None


def test_an_insert_stores_its_parameters_and_refuses_an_existing_key_alone(bus: Bus) -> None:
    ddb = bus.client("dynamodb")
    table = ledger_table_name(bus.prefix)
    ddb.put_item(TableName=table, Item={"pk": {"S": "taken"}, "v": {"S": "first"}})

    answers = ddb.batch_execute_statement(
        Statements=[
            _insert(table, "new", {"M": {"n": {"N": "7"}, "l": {"L": [{"S": "x"}]}}}),
            _insert(table, "taken", {"S": "second"}),
            _insert("no-such-table", "x", {"S": "y"}),
        ]
    )["Responses"]

    assert "Error" not in answers[0]
    assert answers[1]["Error"]["Code"] == "DuplicateItem"
    assert answers[2]["Error"]["Code"] == "ResourceNotFound"
    stored = ddb.get_item(TableName=table, Key={"pk": {"S": "new"}}, ConsistentRead=True)["Item"]
    assert stored == {"pk": {"S": "new"}, "it's": {"M": {"n": {"N": "7"}, "l": {"L": [{"S": "x"}]}}}}
    kept = ddb.get_item(TableName=table, Key={"pk": {"S": "taken"}}, ConsistentRead=True)["Item"]
    assert kept == {"pk": {"S": "taken"}, "v": {"S": "first"}}  # not written over


def test_writers_racing_for_one_key_have_exactly_one_winner(bus: Bus) -> None:
    """Sixteen threads insert one key at once, and sixteen more conditionally put another: one each wins
    (moto reads the condition and writes without a lock; the API orders its DynamoDB operations)."""
    table = ledger_table_name(bus.prefix)
    clients = [bus.client("dynamodb") for _ in range(4)]

    def insert(n: int) -> bool:
        answer = clients[n % 4].batch_execute_statement(Statements=[_insert(table, "race", {"N": str(n)})])
        return "Error" not in answer["Responses"][0]

    def put(n: int) -> bool:
        try:
            clients[n % 4].put_item(
                TableName=table,
                Item={"pk": {"S": "race-put"}, "n": {"N": str(n)}},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except clients[0].exceptions.ConditionalCheckFailedException:
            return False
        return True

    for write in (insert, put):
        with ThreadPoolExecutor(16) as pool:
            assert sum(pool.map(write, range(16))) == 1
