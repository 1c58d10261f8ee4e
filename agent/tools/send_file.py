"""`send_file`: the agent sends a file from its workspace with its reply (OpenClaw's structured
attachment, for a model that does not write `MEDIA:` lines).

The tool only checks the file (in the workspace, of a type that may be sent) and says it will go out;
the turn collects its successful calls when it ends (`agent/reply_media.py`, `sent_files`) and stores
the files with the reply's other attachments. Collecting from the calls rather than from a side effect
keeps a re-run turn right: the journal replays the calls, so the same files go out. Offered like `read`
(it reads the workspace): untrusted turns are not offered it by default (`tools/policy.py`).
"""

from __future__ import annotations

from collections.abc import Mapping

from clawbus.agent.media_lines import Refused, RemoteFile, classify, media_type_of
from clawbus.agent.models.base import Json, ToolSpec
from clawbus.agent.reply_media import SEND_FILE, WorkspaceBytes
from clawbus.agent.tools.base import Tool
from clawbus.bus.errors import PermanentError


def send_file_tool(workspace: WorkspaceBytes, max_bytes: int) -> Tool:
    """`send_file(path, caption)` over `workspace`; files over `max_bytes` are refused."""

    async def run(args: Mapping[str, Json]) -> str:
        path, caption = args.get("path"), args.get("caption", "")
        if not isinstance(path, str) or not isinstance(caption, str):
            raise PermanentError("send_file needs a string 'path' (and optionally a string 'caption')")
        where = classify(path)
        if isinstance(where, Refused):
            raise PermanentError(f"cannot send {path}: {where.reason}")
        if isinstance(where, RemoteFile):
            raise PermanentError("send_file sends workspace files; put a URL on a MEDIA: line instead")
        media_type = media_type_of(where.path)
        if media_type is None:
            raise PermanentError(f"cannot send {path}: this type of file cannot be sent")
        found = await workspace.read_raw(where.path, max_bytes=max_bytes)
        if found is None:
            raise PermanentError(f"no file {where.path} in the workspace")
        if found.truncated:
            raise PermanentError(f"cannot send {path}: it is over the {max_bytes // 2**20} MB limit")
        return f"{where.path} ({media_type}, {found.size} bytes) will be sent with your reply"

    text: dict[str, Json] = {"type": "string"}
    spec = ToolSpec(
        SEND_FILE,
        "Send a workspace file (image, audio, video, PDF, document) to the user with your reply.",
        {
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "relative to the workspace"},
                "caption": text,
            },
            "required": ["path"],
        },
    )
    return Tool(spec, run)
