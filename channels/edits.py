"""The capability of a platform client that edits and deletes its own messages (progress drafts)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from clawbus.schemas import ReplyTarget


@runtime_checkable
class Edits(Protocol):
    """The optional capability of a `PlatformClient` whose platform lets the bot edit its own message
    (progress drafts, issue 21: Telegram `editMessageText`, Slack `chat.update`)."""

    async def edit(self, target: ReplyTarget, message_id: str, text: str) -> None:
        """Replace the text of the bot's message `message_id` in `target`'s chat with `text` (rendered).

        Editing to the text the message has already succeeds. Raises a classified error: `Throttled`
        (with `retry_after`) when rate limited, a `PermanentError` when the message cannot be edited
        (deleted, too old, not the bot's)."""
        ...

    async def delete(self, target: ReplyTarget, message_id: str) -> None:
        """Delete the bot's message `message_id` in `target`'s chat; one already gone counts as deleted.
        Raises a classified error like `edit`."""
        ...
