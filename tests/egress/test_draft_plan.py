"""The pure decisions behind progress drafts in egress (`egress/core/draft_plan.py`)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from clawbus.bus.errors import DeadlineExceeded, PermanentError, TargetGone, Throttled, Unavailable
from clawbus.channels.contracts import SendIntent
from clawbus.channels.slack.outbound import PROFILE as SLACK
from clawbus.channels.telegram.outbound import PROFILE as TELEGRAM
from clawbus.egress.core.draft_plan import (
    DeleteDraft,
    DraftRecord,
    EditDraft,
    EditInto,
    FallBack,
    GiveBack,
    LeaveDraft,
    OpenDraft,
    SendAsUsual,
    after_failed_edit,
    edit_scopes,
    plan_first_chunk,
    plan_progress,
)
from clawbus.egress.core.rate_plan import RatePlan
from clawbus.egress.core.send_once import HeldIntent, SendReceipt

NOW = datetime(2026, 12, 5, tzinfo=UTC)


def test_the_first_progress_opens_the_draft_and_later_ones_edit_it() -> None:
    assert plan_progress(None, can_edit=True) == OpenDraft()
    assert plan_progress(DraftRecord("m1"), can_edit=True) == EditDraft("m1")


@pytest.mark.parametrize(
    ("draft", "can_edit"),
    [
        (DraftRecord("m1", final=True), True),  # the draft is the answer now
        (DraftRecord(None), True),  # another worker is posting it
        (None, False),  # WhatsApp: typing only
        (DraftRecord("m1"), False),
    ],
)
def test_progress_leaves_a_final_a_pending_or_an_uneditable_draft_alone(
    draft: DraftRecord | None, *, can_edit: bool
) -> None:
    assert isinstance(plan_progress(draft, can_edit=can_edit), LeaveDraft)


def test_the_first_chunk_is_edited_into_a_live_draft() -> None:
    assert plan_first_chunk(None, DraftRecord("m1"), can_edit=True) == EditInto("m1")


def test_a_draft_that_became_another_reply_is_not_overwritten_by_a_later_answer() -> None:
    # The draft holds a turn's error reply (the turn was dead-lettered); the answer of its replay after
    # the fix is a new message, the error stays where the user read it.
    assert plan_first_chunk(None, DraftRecord("m1", final=True), can_edit=True) == SendAsUsual()


@pytest.mark.parametrize(
    "chunk",
    [SendReceipt("k", "m9"), HeldIntent(SendIntent("k", "n", NOW), NOW)],
)
def test_a_first_chunk_with_its_own_record_takes_the_usual_path(chunk: SendReceipt | HeldIntent) -> None:
    assert plan_first_chunk(chunk, DraftRecord("m1"), can_edit=True) == SendAsUsual()


@pytest.mark.parametrize("draft", [None, DraftRecord(None)])
def test_without_a_posted_draft_the_first_chunk_is_sent_as_usual(draft: DraftRecord | None) -> None:
    assert plan_first_chunk(None, draft, can_edit=True) == SendAsUsual()
    assert plan_first_chunk(None, DraftRecord("m1"), can_edit=False) == SendAsUsual()


def test_a_refused_edit_falls_back_to_a_send_and_a_transient_failure_is_retried() -> None:
    assert after_failed_edit(PermanentError("message can't be edited")) == FallBack()
    assert after_failed_edit(TargetGone("chat not found")) == FallBack()
    for transient in (Throttled("429", retry_after=3), Unavailable("502"), DeadlineExceeded("timeout")):
        assert after_failed_edit(transient) == GiveBack()


def test_a_clearing_progress_deletes_a_live_draft_and_never_opens_one() -> None:
    assert plan_progress(DraftRecord("m1"), can_edit=True, clear=True) == DeleteDraft("m1")
    assert isinstance(plan_progress(None, can_edit=True, clear=True), LeaveDraft)
    assert isinstance(plan_progress(DraftRecord("m1", final=True), can_edit=True, clear=True), LeaveDraft)


def test_slack_draft_edits_keep_its_tier_3_limit_across_channels() -> None:
    plan = RatePlan()
    for n in range(50):  # 50 edits in 50 channels within a few seconds: each channel's window is free
        plan.record(edit_scopes(SLACK, f"C{n}"), 100.0 + n / 10)
    assert plan.delay(SLACK.scopes("C99"), 105.0) == 0  # a post is not an edit
    assert plan.delay(edit_scopes(SLACK, "C99"), 105.0) > 50  # the 51st edit waits for the minute
    assert edit_scopes(TELEGRAM, "7") == TELEGRAM.scopes("7")  # Telegram: edits count as sends
