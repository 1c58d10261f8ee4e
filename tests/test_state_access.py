"""State is read and written only through the storage layer (storage/): no stage opens a state file or
talks to S3 or DynamoDB items by itself. The few exceptions are listed here, each with its reason."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.layout import PACKAGES, ROOT

LAYER = ROOT / "storage"
FILE_CALLS = {"open", "read_text", "write_text", "read_bytes", "write_bytes", "unlink", "mkdir"}
DATA_CALLS = {
    "put_item",
    "get_item",
    "update_item",
    "delete_item",
    "batch_get_item",
    "batch_write_item",
    "transact_write_items",
    "query",
    "scan",
    "put_object",
    "get_object",
    "delete_object",
    "list_objects_v2",
}
# (module, call) -> why it is not state, or why it stays where it is.
ALLOWED = {
    ("ingress/http/dashboard.py", "open"): "follows the dispatcher's log file (logs, not state)",
    ("local/watchdog.py", "read_bytes"): "the watchdog's stage board (`<data dir>/stages.json`): which local "
    "processes run and how often they died, read by `clawbus status` — process status, like logs",
    **{
        ("bus/private_files.py", call): "creates the embedded default's own files (logs, stage board, "
        "credentials, the WebChat token, the loopback API's snapshot, exports) private: the mode, not what "
        "is in them"
        for call in ("open", "mkdir", "unlink")
    },
    ("local/credentials.py", "open"): "the loopback API's key pair that `clawbus up` writes for the "
    "user's other terminals (credentials of the embedded default, not a stage's state)",
    ("ingress/http/token_file.py", "open"): "reads the run's WebChat token that `clawbus up` made (a "
    "secret of the embedded default, checked for owner and mode as it is opened), not a stage's state",
    ("local/provision.py", "boto3_client"): "creates the tables and the bucket (resources, not their items)",
    **{
        (module, call): "the loopback AWS API saving and restoring its own memory (the embedded default's "
        "stand-in for AWS's durability, under every store), not a stage's state"
        for module, call in (
            ("local/aws_state.py", "mkdir"),
            ("local/aws_state.py", "open"),
            ("local/aws_journal.py", "open"),
            ("local/aws_journal.py", "read_bytes"),
            ("local/aws_journal.py", "unlink"),
        )
    },
    ("cli/stage_forker.py", "open"): "opens /dev/null as a forked stage's stdin and stdout (what "
    "`subprocess.DEVNULL` does for a stage spawned the usual way), not state",
    **{
        ("openclaw/state_dir_read.py", call): "reads the user's OpenClaw directory that `clawbus state "
        "import|export` names (the source and target of a migration, not clawbus state)"
        for call in ("read_text", "read_bytes")
    },
    ("agent/tools/browser.py", "write_bytes"): "WorkspaceStore.write_bytes: the layer's own method",
    ("cli/say.py", "read_bytes"): "reads the files the user names with `clawbus say --file` (the user's "
    "own input, sent to WebChat as the page's upload button sends them), not clawbus state",
    ("agent/engines/openclaw/reply_files.py", "open"): "reads a file an OpenClaw turn named in a MEDIA: "
    "line from OpenClaw's own workspace folder (the cache the stores hydrate before a turn, as gateway.py "
    "reads its state dir), confined to that folder",
    **{
        ("agent/engines/openclaw/gateway.py", call): "OpenClaw's own state dir: its generated config and "
        "its log; the dir is a cache of the stores (StoredOpenClawState hydrates it before a turn and "
        "persists it after), not where clawbus keeps state"
        for call in ("read_text",)
    },
    **{
        ("agent/engines/openclaw_state/workspace_sync.py", call): "the sync between the WorkspaceStore and "
        "OpenClaw's workspace folder (the cache above): the layer's own copy step"
        for call in ("mkdir", "write_text", "read_text")
    },
    ("cli/cost_cmd.py", "read_bytes"): "reads the price file the user names with `--prices` (input)",
    ("cli/openclaw_install.py", "mkdir"): "the folder npm installs Node and OpenClaw into (software)",
    ("local/endpoints.py", "read_bytes"): "reads the endpoints `clawbus up` recorded for the user's "
    "other terminals (like the credentials file), not a stage's state",
}


def _receiver(node: ast.Call) -> str:
    return ast.unparse(node.func.value) if isinstance(node.func, ast.Attribute) else ""


def _offences(path: Path) -> list[tuple[str, int]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if name in FILE_CALLS and "resources.files" not in _receiver(node):  # packaged static files are fine
            found.append((name, node.lineno))
        elif name in DATA_CALLS and isinstance(node.func, ast.Attribute):
            receiver = _receiver(node).lower()
            if any(word in receiver for word in ("ddb", "dynamodb", "s3", "client")):
                found.append((name, node.lineno))
        elif name in ("client", "boto3_client") and any(
            isinstance(a, ast.Constant) and a.value in ("dynamodb", "s3") for a in node.args
        ):
            found.append((name, node.lineno))
    return found


def test_no_stage_touches_state_outside_the_storage_layer() -> None:
    wrong = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.is_relative_to(LAYER):
                continue
            module = path.relative_to(ROOT).as_posix()
            wrong += [
                f"{module}:{line} {call}()" for call, line in _offences(path) if (module, call) not in ALLOWED
            ]
    assert not wrong, "state access outside storage/ (use a BlobStore/RecordStore): " + ", ".join(wrong)


SAMPLE = """
import boto3

def offences(path, ddb, s3, text):
    with open(path) as handle:
        handle.read()
    path.write_text(text)
    ddb.put_item(TableName="t", Item={})
    s3.get_object(Bucket="b", Key="k")
    return boto3.client("dynamodb")
"""


def test_the_scan_sees_state_access(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(SAMPLE)
    assert {call for call, _ in _offences(sample)} == {
        "open",
        "write_text",
        "put_item",
        "get_object",
        "client",
    }


def test_every_exception_is_still_needed() -> None:
    for module, call in ALLOWED:
        assert call in {c for c, _ in _offences(ROOT / module)}, f"{module} no longer calls {call}(): drop it"
