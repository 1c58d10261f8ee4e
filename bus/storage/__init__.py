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
