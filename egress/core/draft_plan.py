"""Progress drafts in egress: what to do with a turn's draft message, given what the ledger holds. Pure.

A turn's draft (issue 21) is one platform message per turn: the first progress message of the turn posts
it, later ones edit it in place, and the turn's first answer chunk is edited into it, so the user sees one
message that ends as the answer, never a second copy. Its platform message id is kept in the sent ledger
(`egress/draft_ledger.py`), so a restarted worker edits the same draft.

- progress (`plan_progress`): no draft yet → open one (post); a draft being posted by another worker, or
  already finalised into the answer → leave it; else edit it. A *clearing* progress message (no text:
  the turn ended silent, `NO_REPLY`) deletes a live draft and opens none, so no "working…" is left
  behind. Progress is best effort: a failed or throttled progress edit is dropped (the next one, or the
  answer, carries the latest state), never retried or dead-lettered, so updates never queue up behind a
  rate limit. A clear is the exception: no later message would remove the draft, so a delete that failed
  for now is retried like an answer (`egress/drafts.py`).
- the answer's first chunk (`plan_first_chunk`): its own receipt wins (it went out: the usual send path
  skips it); a live draft → edit the chunk into it; no draft → the usual send. A final draft without the
  chunk's receipt holds another reply (a finalising edit writes the receipt before marking the draft
  final): the error reply of a turn given up, which a dead letter replayed after the fix then answers
  as a new message (the usual send), never by overwriting the error in place.
- a failed finalising edit (`after_failed_edit`): a rate limit or an outage is retried like any send
  (the edit is idempotent); a refusal (the draft was deleted, is too old to edit) falls back to posting
  the chunk as a new message, once (the chunk's own ledger record keeps it to once).
"""

from __future__ import annotations

from dataclasses import dataclass

from clawbus.bus.errors import PermanentError
from clawbus.channels.contracts import Profile, Scopes
from clawbus.egress.core.send_once import ChunkRecord


@dataclass(frozen=True)
class DraftRecord:
    """A turn's draft as the ledger holds it: its message id (None while a worker is posting it) and
    whether the answer was edited into it (then it is the answer: progress must not touch it)."""

    message_id: str | None
    final: bool = False


@dataclass(frozen=True)
class OpenDraft:
    """Post the draft (under a claim, so two workers do not both post it)."""


@dataclass(frozen=True)
class EditDraft:
    """Edit the draft `message_id` to the progress text."""

    message_id: str


@dataclass(frozen=True)
class DeleteDraft:
    """Delete the draft `message_id`: the turn ended without an answer to edit into it."""

    message_id: str


@dataclass(frozen=True)
class LeaveDraft:
    """Do nothing with this progress message; `reason` is logged."""

    reason: str


@dataclass(frozen=True)
class EditInto:
    """Edit the answer's first chunk into the draft `message_id` (its receipt is that id)."""

    message_id: str


@dataclass(frozen=True)
class SendAsUsual:
    """Send the chunk through the usual send-once path (no draft to edit, or it went out already)."""


@dataclass(frozen=True)
class FallBack:
    """The draft cannot be edited: post the chunk as a new message instead (once)."""


@dataclass(frozen=True)
class GiveBack:
    """Raise the error: the reply goes back to the queue and the edit is tried again."""


ProgressAction = OpenDraft | EditDraft | DeleteDraft | LeaveDraft
ChunkAction = EditInto | SendAsUsual


def plan_progress(draft: DraftRecord | None, *, can_edit: bool, clear: bool = False) -> ProgressAction:
    """What a progress message (`clear`: one without text) does to the turn's draft (module docstring)."""
    if not can_edit:
        return LeaveDraft("the platform cannot edit messages")
    if draft is None:
        return LeaveDraft("no draft to clear") if clear else OpenDraft()
    if draft.final:
        return LeaveDraft("the draft holds the answer already")
    if draft.message_id is None:
        return LeaveDraft("another worker is posting the draft")
    return DeleteDraft(draft.message_id) if clear else EditDraft(draft.message_id)


def plan_first_chunk(chunk: ChunkRecord, draft: DraftRecord | None, *, can_edit: bool) -> ChunkAction:
    """How the answer's first chunk goes out when the turn may have a draft (module docstring)."""
    if chunk is not None or not can_edit or draft is None or draft.message_id is None or draft.final:
        return SendAsUsual()
    return EditInto(draft.message_id)


def after_failed_edit(error: Exception) -> FallBack | GiveBack:
    """After the finalising edit failed with `error` (module docstring)."""
    return FallBack() if isinstance(error, PermanentError) else GiveBack()


def edit_scopes(profile: Profile, chat_id: str) -> Scopes:
    """The rate windows an edit in `chat_id` keeps: the chat's (and bot's) send windows, and the
    platform's bot-wide edit window (`Profile.edits`, Slack's Tier 3) where it has one."""
    scopes = profile.scopes(chat_id)
    return scopes if profile.edits is None else [*scopes, ("edits", profile.edits)]
