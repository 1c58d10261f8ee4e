"""Workspace tools: read, write and edit files, and search memory, all through the `WorkspaceStore`.

`edit` replaces one exact, unique occurrence of a string and writes back with `If-Match` on the version
it read, so an edit never overwrites a change made in between (the model is told to re-read).
`memory_search` looks through MEMORY.md and memory/*.md for lines sharing words with the query, and
returns the best ones with their file and line number.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from clawbus.agent.models.base import Json, ToolSpec
from clawbus.agent.tools.base import Tool
from clawbus.bus.errors import PermanentError
from clawbus.storage import WorkspaceStore

READ_MAX_BYTES = 256 * 1024
_WORD = re.compile(r"\w+")


def _str(args: Mapping[str, Json], key: str) -> str:
    value = args.get(key)
    if not isinstance(value, str):
        raise PermanentError(f"argument {key!r} must be a string")
    return value


def _path_schema(extra: dict[str, Json]) -> dict[str, Json]:
    props: dict[str, Json] = {"path": {"type": "string", "description": "relative to the workspace"}}
    props.update(extra)
    return {"type": "object", "properties": props, "required": list(props)}


def workspace_tools(store: WorkspaceStore) -> list[Tool]:
    """read, write, edit and memory_search over `store`."""

    async def read(args: Mapping[str, Json]) -> str:
        path = _str(args, "path")
        found = await store.read(path, max_bytes=READ_MAX_BYTES)
        if found is None:
            raise PermanentError(f"no file {path} in the workspace")
        suffix = f"\n[… file is {found.size} bytes; first {READ_MAX_BYTES} shown]" if found.truncated else ""
        return found.text + suffix

    async def write(args: Mapping[str, Json]) -> str:
        path, content = _str(args, "path"), _str(args, "content")
        await store.write(path, content)
        return f"wrote {len(content)} characters to {path}"

    async def edit(args: Mapping[str, Json]) -> str:
        path, old, new = _str(args, "path"), _str(args, "old_text"), _str(args, "new_text")
        found = await store.read(path)
        if found is None:
            raise PermanentError(f"no file {path} in the workspace")
        count = found.text.count(old) if old else 0
        if count != 1:
            raise PermanentError(f"old_text occurs {count} times in {path}; it must occur exactly once")
        await store.write(path, found.text.replace(old, new, 1), if_match=found.version)
        return f"edited {path}"

    async def memory_search(args: Mapping[str, Json]) -> str:
        return await search_memory(store, _str(args, "query"))

    text = {"type": "string"}
    return [
        Tool(ToolSpec("read", "Read a workspace file.", _path_schema({})), read),
        Tool(
            ToolSpec("write", "Create or replace a workspace file.", _path_schema({"content": text})), write
        ),
        Tool(
            ToolSpec(
                "edit",
                "Replace one exact, unique occurrence of old_text with new_text in a workspace file.",
                _path_schema({"old_text": text, "new_text": text}),
            ),
            edit,
        ),
        Tool(
            ToolSpec(
                "memory_search",
                "Search MEMORY.md and memory/*.md for lines about the query.",
                {"type": "object", "properties": {"query": text}, "required": ["query"]},
            ),
            memory_search,
        ),
    ]


async def search_memory(store: WorkspaceStore, query: str, limit: int = 10) -> str:
    """The `limit` memory lines sharing the most words with `query`, as `path:line: text`."""
    words = {w.lower() for w in _WORD.findall(query)}
    if not words:
        raise PermanentError("query has no words to search for")
    paths = ["MEMORY.md", *[p for p in await store.list("memory/") if p.endswith(".md")]]
    hits: list[tuple[int, str, int, str]] = []
    for path in paths:
        found = await store.read(path, max_bytes=READ_MAX_BYTES)
        if found is None:
            continue
        for number, line in enumerate(found.text.splitlines(), start=1):
            score = len(words & {w.lower() for w in _WORD.findall(line)})
            if score:
                hits.append((-score, path, number, line.strip()))
    if not hits:
        return f"no memory mentions {query!r}"
    return "\n".join(f"{path}:{number}: {line}" for _s, path, number, line in sorted(hits)[:limit])
