"""The storage layer: one narrow Protocol per kind of state, backends chosen by settings (docs/state.md).

- `BlobStore` (`blobs.py`): bytes by key with versions and conditional writes — S3 or a local directory;
  the agent workspace (`WorkspaceStore`) and claim-checked bodies sit on it.
- `RecordStore` (`records.py`): DynamoDB-style items with conditions, an optimistic `version`, TTL
  checked on read — DynamoDB; the ledger, pairing, cron and WebChat stores sit on it.
- `ConfigStore` (`config.py`): the `openclaw.json` document — SSM Parameter Store or a blob.
- `SecretStore` (`secrets.py`): channel credentials — Secrets Manager, cached with a TTL.
- `TranscriptStore` (`transcripts.py`; DynamoDB + S3, local, or AgentCore Memory) and `SessionIndex`
  (`sessions.py`): a session's ordered turns and the index of sessions; `reset.py` holds OpenClaw's reset
  rules and `jsonl.py` the OpenClaw transcript import/export; `turn_journal.py` keeps an agent turn's
  steps until the turn is in its transcript.

`backends.py` picks each one from `CLAWBUS_STORAGE__*`.
"""

from __future__ import annotations

# The storage layer's Protocols, backends and helpers (blobs, records, config, secrets).
from clawbus.storage.backends import (
    blob_store,
    config_store,
    secret_store,
    seed_config,
    session_index,
    state_dir,
)
from clawbus.storage.blobs import Blob, BlobStore, LocalBlobStore, S3BlobStore, check_key
from clawbus.storage.config import (
    BlobConfigStore,
    ConfigDocument,
    ConfigStore,
    SsmConfigStore,
    config_parameter_name,
    seed,
)
from clawbus.storage.jsonl import ImportSummary, export_jsonl, import_jsonl
from clawbus.storage.records import (
    Absent,
    AllOf,
    AnyOf,
    Compare,
    Condition,
    Record,
    RecordStore,
    absent_or_expired,
    mutate,
)
from clawbus.storage.records_dynamodb import DynamoRecordStore
from clawbus.storage.secrets import SecretsManagerStore, SecretStore, channel_secret_name
from clawbus.storage.sessions import (
    DeliveryContext,
    DynamoSessionIndex,
    LocalSessionIndex,
    SessionEntry,
    SessionIndex,
    export_sessions_json,
    import_sessions_json,
    trusted_route,
    with_last_route,
)
from clawbus.storage.transcripts import Batch, LocalTranscriptStore, SessionRef, Tail, TranscriptStore
from clawbus.storage.transcripts_agentcore import AgentCoreMemoryTranscriptStore
from clawbus.storage.transcripts_dynamodb import DynamoTranscriptStore
from clawbus.storage.turn_journal import DynamoTurnJournal, LocalTurnJournal, TurnJournalStore
from clawbus.storage.webchat import WebchatHistory, WebchatPart
from clawbus.storage.workspace import (
    LocalWorkspaceStore,
    S3WorkspaceStore,
    WorkspaceFile,
    WorkspaceStore,
    check_path,
)

__all__ = [
    "Absent",
    "AgentCoreMemoryTranscriptStore",
    "AllOf",
    "AnyOf",
    "Batch",
    "Blob",
    "BlobConfigStore",
    "BlobStore",
    "Compare",
    "Condition",
    "ConfigDocument",
    "ConfigStore",
    "DeliveryContext",
    "DynamoRecordStore",
    "DynamoSessionIndex",
    "DynamoTranscriptStore",
    "DynamoTurnJournal",
    "ImportSummary",
    "LocalBlobStore",
    "LocalSessionIndex",
    "LocalTranscriptStore",
    "LocalTurnJournal",
    "LocalWorkspaceStore",
    "Record",
    "RecordStore",
    "S3BlobStore",
    "S3WorkspaceStore",
    "SecretStore",
    "SecretsManagerStore",
    "SessionEntry",
    "SessionIndex",
    "SessionRef",
    "SsmConfigStore",
    "Tail",
    "TranscriptStore",
    "TurnJournalStore",
    "WebchatHistory",
    "WebchatPart",
    "WorkspaceFile",
    "WorkspaceStore",
    "absent_or_expired",
    "blob_store",
    "channel_secret_name",
    "check_key",
    "check_path",
    "config_parameter_name",
    "config_store",
    "export_jsonl",
    "export_sessions_json",
    "import_jsonl",
    "import_sessions_json",
    "mutate",
    "secret_store",
    "seed",
    "seed_config",
    "session_index",
    "state_dir",
    "trusted_route",
    "with_last_route",
]
