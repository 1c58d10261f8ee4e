"""The seam between a turn engine and wherever its on-disk state lives between microVMs.

An engine like OpenClaw keeps its state (transcripts, workspace files, config) in one local directory,
while an AgentCore session's microVM is disposable. `EngineState` is how an engine asks for that directory
to be filled before a turn and saved after it: `prepare` hydrates what the turn on `session_key` needs into
`state_dir`; `commit` persists what that turn changed, and runs only after a successful turn (a failed turn
leaves nothing to keep, and the retry starts from the stored state again). The default, `LocalOnlyState`,
does nothing: the directory itself is the state (a laptop, or a test).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class EngineState(Protocol):
    """Hydrates an engine's state directory before a turn and persists it after a successful one."""

    async def prepare(self, session_key: str, state_dir: Path) -> None:
        """Make `state_dir` hold what a turn on `session_key` needs (its transcript, the workspace)."""
        ...

    async def commit(self, session_key: str, state_dir: Path) -> None:
        """Persist what the turn on `session_key` changed in `state_dir`; raise to fail the turn."""
        ...


class LocalOnlyState:
    """No hydration, no persistence: the state directory outlives the process (a laptop, a test)."""

    async def prepare(self, session_key: str, state_dir: Path) -> None:
        """Nothing to fetch."""

    async def commit(self, session_key: str, state_dir: Path) -> None:
        """Nothing to save."""
