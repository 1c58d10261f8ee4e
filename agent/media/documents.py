"""A document's text for the model: PDFs through pypdf (pure Python, maintained), text files decoded.

Extraction runs in a thread (pypdf is synchronous) and stops at `max_chars`; a PDF pypdf cannot read
(encrypted, damaged) gives None, and the file is named instead of read.
"""

from __future__ import annotations

import asyncio
import io
import logging

from pypdf import PdfReader
from pypdf.errors import PdfReadError

logger = logging.getLogger(__name__)


def _pdf_text(data: bytes, max_chars: int) -> str | None:
    try:
        reader = PdfReader(io.BytesIO(data))
        parts: list[str] = []
        total = 0
        for page in reader.pages:
            text = page.extract_text() or ""
            parts.append(text)
            total += len(text)
            if total >= max_chars:
                break
    except (PdfReadError, ValueError, KeyError, TypeError, OSError):
        return None
    return "\n".join(parts).strip()[:max_chars] or None


async def document_text(data: bytes, media_type: str, max_chars: int) -> str | None:
    """The text of a PDF or `text/*` file, at most `max_chars`; None for other types or unreadable files."""
    if media_type == "application/pdf":
        return await asyncio.to_thread(_pdf_text, data, max_chars)
    if media_type.startswith("text/") or media_type in ("application/json", "application/xml"):
        return data[: max_chars * 4].decode("utf-8", errors="replace")[:max_chars] or None
    return None
