"""Reading a user's OpenClaw state directory into an `OpenClawDir`: every file clawbus knows, each checked
(safe names, size caps, malformed files reported as `StateImportError` with the path), nothing else read."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import json5

from clawbus.bus.errors import ConfigError
from clawbus.openclaw.sqlite import read_agent_db, read_auth_stores
from clawbus.openclaw.state_dir import CHANNELS, WORKSPACE_MAX_BYTES, AgentSessions, OpenClawDir, safe_name

_SKIP_WORKSPACE_DIRS = {".git", "node_modules", ".venv", "__pycache__"}


_RESET_ARCHIVE = re.compile(r"\.jsonl\.reset\.")


_ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _jsonl(path: Path) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        value = json.loads(line)
        if not isinstance(value, dict):
            raise ValueError(f"line {number} is not a JSON object")  # noqa: TRY004  # reported as bad input
        lines.append(value)
    return lines


def _parse_env(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        match = _ENV_LINE.match(line)
        if match:
            value = match.group(2)
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            values[match.group(1)] = value
    return values


def _credential_file(name: str) -> tuple[str, str, str] | None:
    """(kind, channel, account) for `<channel>-pairing.json` / `<channel>[-<account>]-allowFrom.json`."""
    for kind, suffix in (("pairing", "-pairing.json"), ("allow", "-allowFrom.json")):
        if not name.endswith(suffix):
            continue
        stem = name.removesuffix(suffix)
        channel, _, account = stem.partition("-")
        if channel in CHANNELS:
            return kind, channel, account or "default"
    return None


class _Reader:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.found = OpenClawDir()

    def skip(self, path: Path, reason: str) -> None:
        self.found.skipped.append((path.relative_to(self.root).as_posix(), reason))

    def parse(self, path: Path, what: str, parse: Any) -> Any:
        """`parse(path)`, or None (recorded as skipped) when the file is unreadable or malformed."""
        try:
            return parse(path)
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            self.skip(path, f"not valid {what}: {exc}")
            return None

    def read(self) -> OpenClawDir:
        known = {"openclaw.json", ".env", "workspace", "agents", "credentials", "cron"}
        config_path = self.root / "openclaw.json"
        if config_path.is_file():
            config = self.parse(config_path, "JSON5", lambda p: json5.loads(p.read_text(encoding="utf-8")))
            if config is not None and not isinstance(config, dict):
                self.skip(config_path, "not a JSON5 object")
            elif config is not None:
                self.found.config = config
        env_path = self.root / ".env"
        if env_path.is_file():
            self.found.env = (
                self.parse(env_path, "a .env file", lambda p: _parse_env(p.read_text("utf-8"))) or {}
            )
        self.workspace(self.root / "workspace", self.found.workspace)
        for folder in sorted(self.root.glob("workspace-*")):
            agent_id = folder.name.removeprefix("workspace-")
            if folder.is_dir() and agent_id == safe_name(agent_id):
                known.add(folder.name)
                self.workspace(folder, self.found.agent_workspaces.setdefault(agent_id, {}))
        self.agents(self.root / "agents")
        self.credentials(self.root / "credentials")
        self.cron(self.root / "cron")
        self.shared_auth_store(self.root / "state" / "openclaw.sqlite")
        for entry in sorted(self.root.iterdir()):
            if entry.name not in known:
                self.skip(entry, "not moved by clawbus (OpenClaw-local state)")
        return self.found

    def workspace(self, root: Path, into: dict[str, bytes]) -> None:
        if not root.is_dir():
            return
        for path in sorted(_files(root)):
            rel = path.relative_to(root)
            size = path.stat().st_size
            if size > WORKSPACE_MAX_BYTES:
                self.skip(path, f"{size} bytes is over the {WORKSPACE_MAX_BYTES}-byte workspace file cap")
                continue
            into[rel.as_posix()] = path.read_bytes()

    def agents(self, root: Path) -> None:
        if not root.is_dir():
            return
        for agent_dir in sorted(p for p in root.iterdir() if p.is_dir()):
            sessions_dir = agent_dir / "sessions"
            for other in sorted(agent_dir.iterdir()):
                if other.name != "sessions":
                    self.skip(
                        other,
                        "models and runtime state stay with OpenClaw"
                        + ("; its sessions and API-key profiles are read" if other.name == "agent" else ""),
                    )
            self.auth_store(agent_dir / "agent")
            store = AgentSessions()
            self.agent_db(agent_dir / "agent" / "openclaw-agent.sqlite", store)
            if not sessions_dir.is_dir():
                if store.index:
                    self.found.sessions[agent_dir.name] = store
                continue
            index_path = sessions_dir / "sessions.json"
            if index_path.is_file():
                index = self.parse(index_path, "JSON", _json)
                if isinstance(index, dict):
                    legacy = {str(k): v for k, v in index.items() if isinstance(v, dict)}
                    store.index = legacy | store.index  # the database is newer than sessions.json
                elif index is not None:
                    self.skip(index_path, "sessions.json is not an object of session entries")
            for path in sorted(sessions_dir.iterdir()):
                if _RESET_ARCHIVE.search(path.name):
                    self.skip(path, "reset archive (an ended session)")
                elif path.suffix == ".jsonl":
                    lines = self.parse(path, "JSONL", _jsonl)
                    if lines is not None:
                        store.transcripts.setdefault(path.stem, lines)
                elif path.name != "sessions.json":
                    self.skip(path, "not a transcript")
            self.found.sessions[agent_dir.name] = store

    def agent_db(self, path: Path, store: AgentSessions) -> None:
        """Add the sessions of OpenClaw 2026.9's agent database (where new sessions live) to `store`."""
        if path.is_file():
            read = self.parse(path, "OpenClaw agent database", read_agent_db)
            if read is not None:
                store.index.update(read[0])
                store.transcripts.update(read[1])

    def auth_store(self, agent_dir: Path) -> None:
        """The agent's model auth profiles: the 2026.9 SQLite store and the legacy `auth-profiles.json`
        (the database wins: it is what OpenClaw reads; the JSON is only what `doctor --fix` imports)."""
        legacy = agent_dir / "auth-profiles.json"
        if legacy.is_file():
            data = self.parse(legacy, "JSON", _json)
            if isinstance(data, dict):
                self.found.auth_profiles.append(data)
        db = agent_dir / "openclaw-agent.sqlite"
        if db.is_file():
            stores = self.parse(db, "OpenClaw auth store", read_auth_stores) or []
            self.found.auth_profiles[:0] = stores

    def shared_auth_store(self, path: Path) -> None:
        """The shared auth store `openclaw doctor --fix` relocates to `state/openclaw.sqlite`."""
        if path.is_file():
            self.found.auth_profiles.extend(self.parse(path, "OpenClaw shared state", read_auth_stores) or [])

    def credentials(self, root: Path) -> None:
        if not root.is_dir():
            return
        for path in sorted(root.iterdir()):
            if path.is_dir() and path.name == "whatsapp":
                self.whatsapp(path)
                continue
            parsed = _credential_file(path.name) if path.is_file() else None
            if parsed is None:
                self.skip(path, "not a pairing or allowFrom file of a channel clawbus serves")
                continue
            kind, channel, account = parsed
            data = self.parse(path, "JSON", _json)
            if data is None:
                continue
            if kind == "pairing":
                requests = data.get("requests") if isinstance(data, dict) else None
                if not isinstance(requests, list):
                    self.skip(path, "no `requests` list")
                    continue
                for r in requests:
                    if isinstance(r, dict):
                        meta = r.get("meta")
                        owner = str(meta.get("accountId") or account) if isinstance(meta, dict) else account
                        self.found.pairing.setdefault((channel, owner), []).append(r)
            else:
                allow = data.get("allowFrom") if isinstance(data, dict) else None
                if not isinstance(allow, list):
                    self.skip(path, "no `allowFrom` list")
                    continue
                merged = self.found.allow_from.setdefault((channel, account), [])
                merged.extend(str(a) for a in allow if str(a) not in merged)

    def whatsapp(self, root: Path) -> None:
        for account_dir in sorted(root.iterdir()):
            if not account_dir.is_dir():
                self.skip(
                    account_dir, "Baileys files outside an account folder (run `openclaw doctor` first)"
                )
                continue
            files: dict[str, str] = {}
            for path in sorted(account_dir.iterdir()):
                if path.is_file():
                    text = self.parse(path, "UTF-8 text", lambda p: p.read_text(encoding="utf-8"))
                    if text is not None:
                        files[path.name] = text
            if files:
                self.found.whatsapp_auth[account_dir.name] = files

    def cron(self, root: Path) -> None:
        if not root.is_dir():
            return
        jobs_path = root / "jobs.json"
        if jobs_path.is_file():
            data = self.parse(jobs_path, "JSON", _json)
            jobs = data.get("jobs") if isinstance(data, dict) else None
            if isinstance(jobs, list):
                self.found.cron_jobs = [j for j in jobs if isinstance(j, dict)]
            elif data is not None:
                self.skip(jobs_path, "no `jobs` list")
        runs = root / "runs"
        if runs.is_dir():
            for path in sorted(runs.glob("*.jsonl")):
                lines = self.parse(path, "JSONL", _jsonl)
                if lines is not None:
                    self.found.cron_runs[path.stem] = lines


def _files(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in _SKIP_WORKSPACE_DIRS]
        for name in filenames:
            yield Path(dirpath) / name


def read_openclaw_dir(root: Path) -> OpenClawDir:
    """Read an OpenClaw state directory. Raises `ConfigError` when `root` is not one."""
    if not root.is_dir():
        raise ConfigError(f"{root} is not a directory; pass an OpenClaw state directory like ~/.openclaw")
    markers = ("openclaw.json", "workspace", "agents", "credentials", "cron")
    if not any((root / marker).exists() for marker in markers):
        raise ConfigError(
            f"{root} does not look like an OpenClaw state directory (none of {', '.join(markers)} is there)"
        )
    return _Reader(root).read()
