"""The files an agent's reply sends: found in the reply (`MEDIA:` lines) and in its `send_file` calls,
put in the state bucket, and named in the response by reference (`ReplyMedia`), never as bytes.

A file goes to `media/<session ref>/<sha256>` in the state bucket: content-addressed, so a re-run turn
stores nothing twice and refers to the same object, and under the session's prefix, so a lifecycle rule
or a session's clean-up can find it. Egress reads it from there when it uploads.

Who may send what follows the turn's file-read trust (OpenClaw: "local paths still pass the agent
file-read policy"): a workspace file goes out only when the turn is offered `read` or `send_file` (an
untrusted turn, a stranger in a group, is offered neither by default: the workspace holds the owner's
memory). A reference that cannot go out is answered in the reply's text, saying which and why.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from mimetypes import guess_extension
from pathlib import PurePosixPath
from typing import Protocol
from urllib.parse import urlsplit

import httpx

from clawbus.agent.media_lines import Refused, RemoteFile, classify, media_type_of, split_media_lines
from clawbus.agent.models.base import Message, ToolCall, ToolResult
from clawbus.bus.errors import ClawbusError, VersionConflict
from clawbus.bus.logging import log_event, session_ref
from clawbus.schemas import AgentResponse, ReplyMedia
from clawbus.storage.blobs import Blob, BlobStore

logger = logging.getLogger(__name__)

SEND_FILE = "send_file"
AS_VOICE = "[[audio_as_voice]]"  # OpenClaw's reply tag: send the reply's audio as a voice note
LOCAL_READERS = frozenset({"read", SEND_FILE})  # tools whose offer lets a turn send workspace files


@dataclass(frozen=True)
class Attachment:
    """A file the turn asked to send: its reference (as written) and caption."""

    ref: str
    caption: str = ""


class WorkspaceBytes(Protocol):
    """The workspace read as bytes (`storage.workspace`)."""

    async def read_raw(self, path: str, *, max_bytes: int | None = None) -> Blob | None: ...


def sent_files(messages: Sequence[Message]) -> list[Attachment]:
    """The files the turn's successful `send_file` calls named, in call order (replayed turns included:
    the journal replays the calls' results, so a re-run finds the same files)."""
    failed = {
        block.tool_use_id
        for message in messages
        for block in message.blocks
        if isinstance(block, ToolResult) and block.is_error
    }
    found = []
    for message in messages:
        for block in message.blocks:
            if isinstance(block, ToolCall) and block.name == SEND_FILE and block.id not in failed:
                path, caption = block.input.get("path"), block.input.get("caption")
                if isinstance(path, str) and path:
                    found.append(Attachment(path, caption if isinstance(caption, str) else ""))
    return found


class ReplyMediaStager:
    """Stores a reply's files in the state bucket and puts their references in the response."""

    def __init__(
        self, workspace: WorkspaceBytes, blobs: BlobStore, http: httpx.AsyncClient | None, max_bytes: int
    ) -> None:
        self._workspace = workspace
        self._blobs = blobs
        self._http = http
        self._max_bytes = max_bytes

    def over(self, workspace: WorkspaceBytes) -> ReplyMediaStager:
        """The same stager reading local files from `workspace` (the OpenClaw engine's own folder)."""
        return ReplyMediaStager(workspace, self._blobs, self._http, self._max_bytes)

    async def attach(
        self,
        response: AgentResponse,
        session_key: str,
        *,
        sent: Sequence[Attachment] = (),
        local_allowed: bool,
    ) -> AgentResponse:
        """`response` with its `MEDIA:` lines taken out of the text and every file in `media`; a file
        that cannot go out adds a line saying why. Safe to repeat (content-addressed)."""
        parts: list[str] = []
        wanted = list(sent)
        voice = any(AS_VOICE in text for text in response.parts)
        for text in response.parts:
            split = split_media_lines(text.replace(AS_VOICE, "").strip() if voice else text)
            wanted += [Attachment(ref) for ref in split.refs]
            parts.append(split.text)
        if not wanted:
            return response.model_copy(update={"parts": tuple(p for p in parts if p)}) if voice else response
        media: list[ReplyMedia] = []
        notes: list[str] = []
        for attachment in dict.fromkeys(wanted):
            stored = await self._stage(attachment, session_key, local_allowed=local_allowed)
            if isinstance(stored, Refused):
                notes.append(f"⚠️ Could not send {stored.ref}: {stored.reason}.")
            elif all(m.key != stored.key for m in media):  # the same file asked for twice goes out once
                audio = voice and stored.media_type.startswith("audio/")
                media.append(stored.model_copy(update={"as_voice": True}) if audio else stored)
        log_event(
            logger,
            "agent.media.attached",
            session=session_ref(session_key),
            files=len(media),
            refused=len(notes),
            bytes=sum(m.size for m in media),
        )
        if notes:
            parts.append("\n".join(notes))
        kept = tuple(p for p in parts if p.strip())
        return response.model_copy(update={"parts": kept, "media": (*response.media, *media)})

    async def _stage(
        self, attachment: Attachment, session_key: str, *, local_allowed: bool
    ) -> ReplyMedia | Refused:
        where = classify(attachment.ref)
        if isinstance(where, Refused):
            return where
        if isinstance(where, RemoteFile):
            fetched = await self._fetch(where.url)
            if isinstance(fetched, Refused):
                return fetched
            data, name, media_type = fetched
        else:
            if not local_allowed:
                return Refused(attachment.ref, "workspace files cannot be sent in this conversation")
            local_type = media_type_of(where.path)
            if local_type is None:
                return Refused(attachment.ref, "this type of file cannot be sent")
            blob = await self._workspace.read_raw(where.path, max_bytes=self._max_bytes)
            if blob is None:
                return Refused(attachment.ref, "there is no such file in the workspace")
            if blob.truncated:
                return Refused(attachment.ref, f"it is over the {self._max_bytes // 2**20} MB limit")
            data, name, media_type = blob.data, PurePosixPath(where.path).name, local_type
        key = f"media/{session_ref(session_key)}/{hashlib.sha256(data).hexdigest()}"
        with contextlib.suppress(VersionConflict):  # stored before (content-addressed: the same bytes)
            await self._blobs.put(key, data, content_type=media_type, if_none_match=True)
        return ReplyMedia(
            key=key, media_type=media_type, size=len(data), name=name, caption=attachment.caption
        )

    async def _fetch(self, url: str) -> tuple[bytes, str, str] | Refused:
        """A public URL's bytes, name and media type (public addresses only: the agent's web transport)."""
        if self._http is None:
            return Refused(url, "files from URLs cannot be sent here")
        name = PurePosixPath(urlsplit(url).path).name or "file"
        try:
            async with self._http.stream("GET", url, follow_redirects=False) as response:
                if response.status_code != 200:
                    return Refused(url, f"it could not be fetched (HTTP {response.status_code})")
                declared = response.headers.get("content-type", "").split(";")[0].strip().lower()
                body = bytearray()
                async for piece in response.aiter_bytes():
                    body += piece
                    if len(body) > self._max_bytes:
                        return Refused(url, f"it is over the {self._max_bytes // 2**20} MB limit")
        except (httpx.HTTPError, ClawbusError) as exc:
            return Refused(url, f"it could not be fetched ({type(exc).__name__})")
        media_type = media_type_of(name) or _allowed(declared)
        if media_type is None:
            return Refused(url, "this type of file cannot be sent")
        return bytes(body), name, media_type


def _allowed(declared: str) -> str | None:
    """A declared content type when it is one that may be sent (checked through a name of that type)."""
    suffix = guess_extension(declared) if declared else None
    return media_type_of(f"file{suffix}") if suffix else None
