"""The storage layer: one narrow Protocol per kind of state, backends chosen by settings.

So far it holds the agent workspace (`WorkspaceStore`: text files by relative path, with an
optimistic-concurrency version), backed by S3 (`<bucket>/agents/<agentId>/workspace/`) or a local
directory.
"""

from __future__ import annotations

from .workspace import (
    LocalWorkspaceStore,
    S3WorkspaceStore,
    WorkspaceFile,
    WorkspaceStore,
    check_path,
)

__all__ = ["LocalWorkspaceStore", "S3WorkspaceStore", "WorkspaceFile", "WorkspaceStore", "check_path"]

# Sessions and transcripts (transcripts.py, sessions.py, reset.py, jsonl.py and the backends).
from .jsonl import ImportSummary, export_jsonl, import_jsonl
from .sessions import (
    DeliveryContext,
    DynamoSessionIndex,
    LocalSessionIndex,
    SessionEntry,
    SessionIndex,
    export_sessions_json,
    import_sessions_json,
)
from .transcripts import Batch, LocalTranscriptStore, SessionRef, Tail, TranscriptStore
from .transcripts_agentcore import AgentCoreMemoryTranscriptStore
from .transcripts_dynamodb import DynamoTranscriptStore

__all__ += [
    "AgentCoreMemoryTranscriptStore",
    "Batch",
    "DeliveryContext",
    "DynamoSessionIndex",
    "DynamoTranscriptStore",
    "ImportSummary",
    "LocalSessionIndex",
    "LocalTranscriptStore",
    "SessionEntry",
    "SessionIndex",
    "SessionRef",
    "Tail",
    "TranscriptStore",
    "export_jsonl",
    "export_sessions_json",
    "import_jsonl",
    "import_sessions_json",
]
