"""An OpenClaw state directory (`~/.openclaw`), read into one typed value and written back.

This is the one place that knows OpenClaw's on-disk layout (reference: `openclaw.md` §8). `clawbus state
import` reads a directory with `read_openclaw_dir` and moves what it found into the storage layer;
`clawbus state export` builds an `OpenClawDir` from the stores and writes it with `write_openclaw_dir`.

What is read:

- `openclaw.json` (JSON5) and `.env` (channel credentials, `KEY=value` lines);
- `workspace/` (the default agent's workspace: AGENTS.md, SOUL.md, memory/*.md …);
- `agents/<agentId>/sessions/sessions.json` and `<sessionId>.jsonl` transcripts, and the sessions in
  `agents/<agentId>/agent/openclaw-agent.sqlite` (2026.9: `openclaw.sqlite`; it wins over the files);
- `credentials/<channel>-pairing.json` (requests of other accounts carry `meta.accountId`),
  `<channel>[-<account>]-allowFrom.json`,
  `credentials/whatsapp/<account>/*` (Baileys auth state, kept as secret files);
- `cron/jobs.json` and `cron/runs/<jobId>.jsonl`.

Everything else (`sandboxes/`, `skills/`, `devices/`, `state/`, logs, reset archives) is listed in
`skipped` with the reason, so the summary says what did not move. A file that cannot be parsed is skipped
with its reason too: one bad file never aborts an import.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import json5

from clawbus.bus.errors import ConfigError
from clawbus.bus.private_files import private_dir, write_private
from clawbus.openclaw.sqlite import read_agent_db, read_auth_stores

# Channels whose credential files we understand (their names never contain '-').
CHANNELS = ("telegram", "slack", "discord", "whatsapp")
WORKSPACE_MAX_BYTES = 2 * 1024 * 1024  # OpenClaw's cap on a workspace file it will read
_SKIP_WORKSPACE_DIRS = {".git", "node_modules", ".venv", "__pycache__"}
_UNSAFE_NAME = re.compile(r'[\\/:*?"<>|]|\.\.')
_RESET_ARCHIVE = re.compile(r"\.jsonl\.reset\.")
_ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")


@dataclass
class AgentSessions:
    """One agent's session store: the `sessions.json` index and the transcripts it points at."""

    index: dict[str, dict[str, Any]] = field(default_factory=dict)
    transcripts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


@dataclass
class OpenClawDir:
    """An OpenClaw state directory's contents, as far as clawbus moves them.

    `pairing` and `allow_from` are keyed by (channel, account); `whatsapp_auth` by account, then file name.
    """

    config: dict[str, Any] | None = None
    env: dict[str, str] = field(default_factory=dict)
    workspace: dict[str, bytes] = field(default_factory=dict)
    sessions: dict[str, AgentSessions] = field(default_factory=dict)
    pairing: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    allow_from: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    whatsapp_auth: dict[str, dict[str, str]] = field(default_factory=dict)
    cron_jobs: list[dict[str, Any]] = field(default_factory=list)
    cron_runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    auth_profiles: list[dict[str, Any]] = field(default_factory=list)  # auth stores: {"profiles": {...}}
    skipped: list[tuple[str, str]] = field(default_factory=list)


def safe_name(name: str) -> str:
    """A channel or account name as OpenClaw writes it in a file name (lowercase, unsafe characters → `_`)."""
    return _UNSAFE_NAME.sub("_", name.strip().lower())


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
        self.workspace(self.root / "workspace")
        self.agents(self.root / "agents")
        self.credentials(self.root / "credentials")
        self.cron(self.root / "cron")
        self.shared_auth_store(self.root / "state" / "openclaw.sqlite")
        for entry in sorted(self.root.iterdir()):
            if entry.name not in known:
                self.skip(entry, "not moved by clawbus (OpenClaw-local state)")
        return self.found

    def workspace(self, root: Path) -> None:
        if not root.is_dir():
            return
        for path in sorted(_files(root)):
            rel = path.relative_to(root)
            size = path.stat().st_size
            if size > WORKSPACE_MAX_BYTES:
                self.skip(path, f"{size} bytes is over the {WORKSPACE_MAX_BYTES}-byte workspace file cap")
                continue
            data = path.read_bytes()
            self.found.workspace[rel.as_posix()] = data

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


def _write(path: Path, data: bytes) -> None:
    write_private(private_dir(path.parent) / path.name, data)


def _dump(value: Any) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _dump_lines(lines: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode("utf-8")


def write_openclaw_dir(state: OpenClawDir, root: Path) -> list[str]:
    """Write `state` in OpenClaw's layout under `root` (created); returns the relative paths written.

    Every file is created 0600 in 0700 folders (OpenClaw does so for credentials; transcripts, memory
    and cron jobs are as private), never widened after the write. Raises `ConfigError` when `root`
    exists and is not an empty directory (nothing is overwritten).
    """
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise ConfigError(f"{root} exists and is not empty; export into a new directory")
    written: list[str] = []

    def put(rel: str, data: bytes) -> None:
        _write(root / rel, data)
        written.append(rel)

    if state.config is not None:
        put("openclaw.json", _dump(state.config))
    if state.env:
        put(".env", "".join(f"{k}={v}\n" for k, v in sorted(state.env.items())).encode())
    for rel, data in sorted(state.workspace.items()):
        put(f"workspace/{rel}", data)
    for agent_id, store in sorted(state.sessions.items()):
        base = f"agents/{safe_name(agent_id)}/sessions"
        put(f"{base}/sessions.json", _dump(store.index))
        for session_id, lines in sorted(store.transcripts.items()):
            put(f"{base}/{session_id}.jsonl", _dump_lines(lines))
    by_channel: dict[str, list[dict[str, Any]]] = {}
    for (channel, account), requests in sorted(state.pairing.items()):
        for request in requests:  # one file per channel; the account rides in meta.accountId
            meta = {**request.get("meta", {}), "accountId": account} if account != "default" else None
            by_channel.setdefault(channel, []).append({**request, "meta": meta} if meta else request)
    for channel, requests in sorted(by_channel.items()):
        put(
            f"credentials/{safe_name(channel)}-pairing.json",
            _dump({"version": 1, "requests": requests}),
        )
    for (channel, account), allow in sorted(state.allow_from.items()):
        name = safe_name(channel) if account == "default" else f"{safe_name(channel)}-{safe_name(account)}"
        put(f"credentials/{name}-allowFrom.json", _dump({"version": 1, "allowFrom": allow}))
    for account, files in sorted(state.whatsapp_auth.items()):
        for name, text in sorted(files.items()):
            put(f"credentials/whatsapp/{safe_name(account)}/{name}", text.encode("utf-8"))
    if state.cron_jobs:
        put("cron/jobs.json", _dump({"version": 1, "jobs": state.cron_jobs}))
    for job_id, runs in sorted(state.cron_runs.items()):
        put(f"cron/runs/{job_id}.jsonl", _dump_lines(runs))
    return written


@dataclass(frozen=True)
class Credential:
    """One channel credential: where `openclaw.json` keeps it (`channels.<channel>.<key>`), the `.env`
    fallback OpenClaw reads, and the clawbus setting (`CLAWBUS_<CHANNEL>__<SETTING>`) it becomes."""

    channel: str
    key: str
    setting: str
    env: str | None = None

    @property
    def variable(self) -> str:
        """The clawbus env var name, as the channel's secret stores it."""
        return f"CLAWBUS_{self.channel.upper()}__{self.setting}"


CREDENTIALS = (
    Credential("telegram", "botToken", "BOT_TOKEN", "TELEGRAM_BOT_TOKEN"),
    Credential("telegram", "webhookSecret", "WEBHOOK_SECRET"),
    Credential("slack", "botToken", "BOT_TOKEN", "SLACK_BOT_TOKEN"),
    Credential("slack", "appToken", "APP_TOKEN", "SLACK_APP_TOKEN"),
    Credential("slack", "signingSecret", "SIGNING_SECRET", "SLACK_SIGNING_SECRET"),
    Credential("discord", "token", "BOT_TOKEN", "DISCORD_BOT_TOKEN"),
)


def channel_secrets(config: Mapping[str, Any] | None, env: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """Channel credentials found in `openclaw.json` and `.env`, as clawbus setting names per channel.

    `{"telegram": {"CLAWBUS_TELEGRAM__BOT_TOKEN": "…"}}` — the shape of one Secrets Manager secret per
    channel (`bus/secret_env.py`). Only the default account's credentials map onto clawbus settings;
    the config's value wins over the `.env` fallback.
    """
    channels = (config or {}).get("channels", {})
    found: dict[str, dict[str, str]] = {}
    for credential in CREDENTIALS:
        block = channels.get(credential.channel) if isinstance(channels, Mapping) else None
        configured = block.get(credential.key) if isinstance(block, Mapping) else None
        for value in (configured, env.get(credential.env) if credential.env else None):
            if isinstance(value, str) and value:
                found.setdefault(credential.channel, {})[credential.variable] = value
                break
    return found


def without_secrets(config: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of `config` with the channel credentials (`CREDENTIALS`) removed."""
    copy: dict[str, Any] = json.loads(json.dumps(config))
    channels = copy.get("channels")
    if isinstance(channels, dict):
        for credential in CREDENTIALS:
            block = channels.get(credential.channel)
            if isinstance(block, dict):
                block.pop(credential.key, None)
    return copy


__all__ = [
    "CHANNELS",
    "CREDENTIALS",
    "AgentSessions",
    "Credential",
    "OpenClawDir",
    "channel_secrets",
    "read_openclaw_dir",
    "safe_name",
    "without_secrets",
    "write_openclaw_dir",
]
