"""Each channel client's reconcile answer against the fake platform that keeps what was posted: Slack
finds a chunk by the nonce in its metadata (in the conversation or the thread, across pages), Discord's
channel messages repeat idempotently while the nonce is enforced, follow-ups cannot tell."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from clawbus.bus.settings import DiscordSettings, SlackSettings
from clawbus.channels.chunk_keys import send_nonce
from clawbus.channels.contracts import Outcome, Reconciled, SendIntent
from clawbus.channels.discord.outbound import open_discord
from clawbus.channels.slack.outbound import open_slack
from clawbus.schemas import ReplyTarget
from tests.fakes.platforms import FakePlatforms


@pytest.fixture
def fake() -> Iterator[FakePlatforms]:
    with FakePlatforms() as server:
        yield server


def _intent(key: str, at: datetime) -> SendIntent:
    return SendIntent(key, send_nonce(key), at)


@pytest.mark.parametrize("thread", [None, "1733349600.000100"])
async def test_slack_finds_a_posted_chunk_by_its_nonce_and_not_one_never_posted(
    fake: FakePlatforms, thread: str | None
) -> None:
    settings = SlackSettings(bot_token=SecretStr("xoxb-fake"), api_base=fake.api_base("slack"))
    target = ReplyTarget(chat_id="D0DM", thread_id=thread)
    intended = datetime.now(UTC)
    async with open_slack(settings, 5.0) as slack:
        ts = await slack.post(target, "sent before the crash", first=True, key="sent:slack:r1:0.0")
        for n in range(150):  # a busy conversation since: the chunk is on the second page
            await slack.post(target, f"later {n}", first=False, key=f"sent:slack:other:{n}.0")
        found = await slack.reconcile(target, _intent("sent:slack:r1:0.0", intended), intended)
        missing = await slack.reconcile(target, _intent("sent:slack:r1:0.1", intended), intended)
    assert found == Reconciled(Outcome.SENT, ts)
    assert missing == Reconciled(Outcome.NOT_SENT)
    read = "conversations.replies" if thread else "conversations.history"
    assert {c.method for c in fake.calls if c.method.startswith("conversations.")} == {read}


async def test_slack_does_not_count_a_message_from_before_the_intent(fake: FakePlatforms) -> None:
    settings = SlackSettings(bot_token=SecretStr("xoxb-fake"), api_base=fake.api_base("slack"))
    target = ReplyTarget(chat_id="D0DM")
    async with open_slack(settings, 5.0) as slack:
        await slack.post(target, "an old copy", first=True, key="sent:slack:r1:0.0")
        later = datetime.now(UTC) + timedelta(minutes=5)
        answer = await slack.reconcile(target, _intent("sent:slack:r1:0.0", later), later)
    assert answer.outcome is Outcome.NOT_SENT


async def test_discord_repeats_a_channel_message_and_an_interaction_answer_and_cannot_tell_for_follow_ups(
    fake: FakePlatforms,
) -> None:
    settings = DiscordSettings(
        bot_token=SecretStr("fake"), application_id="4242", api_base=fake.api_base("discord")
    )
    channel = ReplyTarget(chat_id="555")
    followup = ReplyTarget.model_validate({"chat_id": "555", "interaction_token": "tok"})
    now = datetime.now(UTC)
    key = "sent:discord:r1:0.0"
    async with open_discord(settings, 5.0) as discord:
        first = await discord.post(channel, "once", first=True, key=key)
        assert await discord.reconcile(channel, _intent(key, now), now) == Reconciled(Outcome.REPEATABLE)
        again = await discord.post(channel, "once", first=True, key=key)
        late = now + timedelta(minutes=3)
        assert (await discord.reconcile(channel, _intent(key, now), late)).outcome is Outcome.UNKNOWN
        answer = await discord.reconcile(followup, _intent(key, now), now)
        assert answer == Reconciled(Outcome.REPEATABLE)  # the first chunk edits the placeholder
        later_chunk = "sent:discord:r1:0.1"
        assert (await discord.reconcile(followup, _intent(later_chunk, now), late)).outcome is Outcome.UNKNOWN
    assert again == first
    assert [c.text for c in fake.shown("discord")] == ["once"]
