"""`MEDIA:` lines: how an agent's reply text asks for a file to go out with it (OpenClaw's convention).

OpenClaw (docs/reference/rich-output-protocol.md, "Legacy `MEDIA:` lines") attaches media from a final
reply's *standalone* line whose trimmed text starts with `MEDIA:` — at most three leading spaces, outside
fenced and indented code blocks. Inline prose (`Here it is: MEDIA:/x.png`), Markdown wrappers
(`**MEDIA:/x.png**`, `` `MEDIA:/x.png` ``) and code stay text. A reference whose path or URL ends in
punctuation is double-quoted (`MEDIA:"https://example.com/a.mp4?t=ends,"`); unquoted, trailing
punctuation is not part of it.

What a reference may name (`classify`): a file in the agent's workspace (relative, `./`-relative, or
under `/workspace/`, OpenClaw's sandbox mount), or a public `https:` URL. Anything else is refused with
a sentence the user can read: another absolute or `~/` path (clawbus agents have no host filesystem;
the workspace is all they own), `..` out of the workspace, `http:` and other schemes, loopback and
private hosts. The file types that may go out are OpenClaw's host-local send list (`media_type_of`):
images, audio, video, PDF, Office documents and plain text documents. Pure: text in, values out.
"""

from __future__ import annotations

import ipaddress
import mimetypes
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlsplit

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_MEDIA = re.compile(r"^ {0,3}MEDIA:(?P<ref>.*)$")
_TRAILING = ".,;:!?)]}'\""
_WORKSPACE_MOUNT = "/workspace/"
_PRIVATE_NAMES = ("localhost", ".localhost", ".local", ".internal", ".lan", ".home.arpa")
# OpenClaw's host-local send list: media, PDF, Office documents, validated text documents.
_EXTRA_TYPES = {
    ".md": "text/markdown",
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
    ".opus": "audio/ogg",
    ".oga": "audio/ogg",
    ".ogg": "audio/ogg",
    ".webp": "image/webp",
    ".xlsm": "application/vnd.ms-excel.sheet.macroenabled.12",
}
_DOCUMENT_TYPES = {
    "application/pdf",
    "application/json",
    "application/yaml",
    "text/plain",
    "text/markdown",
    "text/csv",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.ms-excel.sheet.macroenabled.12",
}
_OFFICE_PREFIX = "application/vnd.openxmlformats-officedocument."


@dataclass(frozen=True)
class MediaLines:
    """A reply split into what stays text and the references its `MEDIA:` lines asked for, in order."""

    text: str
    refs: tuple[str, ...]


@dataclass(frozen=True)
class WorkspaceFile:
    """A reference to a file in the agent's workspace, as a relative path."""

    path: str


@dataclass(frozen=True)
class RemoteFile:
    """A reference to a public `https:` URL (fetched by the agent through its public-only transport)."""

    url: str


@dataclass(frozen=True)
class Refused:
    """A reference that cannot go out, and why (shown to the user in place of the file)."""

    ref: str
    reason: str


Reference = WorkspaceFile | RemoteFile | Refused


def split_media_lines(text: str) -> MediaLines:
    """Take the standalone `MEDIA:` lines out of `text`; everything else stays as it was written.

    Lines inside fenced (```/~~~) or indented (four spaces, or a tab) code blocks are never `MEDIA:`
    lines; a `MEDIA:` line whose reference is empty or holds unquoted spaces stays text too.
    """
    kept: list[str] = []
    refs: list[str] = []
    fence: str | None = None
    for line in text.split("\n"):
        opened = _FENCE.match(line)
        if fence is not None:
            if (
                opened
                and opened[1][0] == fence[0]
                and len(opened[1]) >= len(fence)
                and not line.strip(opened[1][0] + " ")
            ):
                fence = None
            kept.append(line)
            continue
        if opened:
            fence = opened[1]
            kept.append(line)
            continue
        ref = _reference(line)
        if ref is None:
            kept.append(line)
        else:
            refs.append(ref)
    return MediaLines(_tidy("\n".join(kept)) if refs else text, tuple(refs))


def _reference(line: str) -> str | None:
    found = _MEDIA.match(line.rstrip())
    if found is None:
        return None
    ref = found["ref"].strip()
    if ref.startswith('"'):
        end = ref.find('"', 1)
        if end <= 1 or ref[end + 1 :].strip():
            return None
        return ref[1:end]
    ref = ref.rstrip(_TRAILING)
    return ref if ref and not any(c.isspace() for c in ref) else None


def _tidy(text: str) -> str:
    """The text around removed lines, without the blank lines they leave at its ends or in runs."""
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def classify(ref: str) -> Reference:
    """What `ref` names: a workspace file, a public URL, or a refusal that says why."""
    if "://" in ref or ref.lower().startswith(("data:", "file:", "javascript:")):
        return _url(ref)
    if ref.startswith("~"):
        return Refused(ref, "it is outside the workspace (only workspace files can be sent)")
    path = ref
    if path.startswith(_WORKSPACE_MOUNT):
        path = path[len(_WORKSPACE_MOUNT) :]
    elif path.startswith("/"):
        return Refused(ref, "it is outside the workspace (only workspace files can be sent)")
    parts = [p for p in PurePosixPath(path).parts if p != "."]
    if not parts or ".." in parts or "\\" in path or "\x00" in path:
        return Refused(ref, "it is outside the workspace (only workspace files can be sent)")
    return WorkspaceFile("/".join(parts))


def _url(ref: str) -> Reference:
    try:
        split = urlsplit(ref)
    except ValueError:
        return Refused(ref, "it is not a valid URL")
    if split.scheme.lower() != "https" or not split.hostname:
        return Refused(ref, "only public https: URLs can be sent")
    host = split.hostname.lower().rstrip(".")
    if host in _PRIVATE_NAMES or host.endswith(_PRIVATE_NAMES) or ("." not in host and ":" not in host):
        return Refused(ref, "its host is not public")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return RemoteFile(ref)
    return RemoteFile(ref) if address.is_global else Refused(ref, "its host is not public")


def media_type_of(name: str) -> str | None:
    """The media type a file of this name goes out as, or None when the type may not be sent."""
    suffix = PurePosixPath(name).suffix.lower()
    found = _EXTRA_TYPES.get(suffix) or mimetypes.guess_type(f"x{suffix}", strict=False)[0]
    if found is None:
        return None
    if found.split("/")[0] in ("image", "audio", "video") and found != "image/svg+xml":
        return found
    if found in _DOCUMENT_TYPES or found.startswith(_OFFICE_PREFIX):
        return found
    return None
