"""Gating and pairing codes, as OpenClaw decides them."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clawbus.channels.telegram import inbound as telegram
from clawbus.ingress.core import Context, Policy, Turn, Verdict, decide
from clawbus.ingress.core.pairing import ALPHABET, approve_code, pairing_text, request_pairing
from clawbus.schemas import Access, DmScope
from tests.ingress import payloads as p

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
CTX = Context(agent_id="main", dm_scope=DmScope.MAIN, now=NOW)


def turn(**kwargs: object) -> Turn:
    parsed = telegram.normalise(
        p.telegram_message(**kwargs), bot_id=p.BOT_ID, bot_username=p.BOT_USERNAME, ctx=CTX
    )  # type: ignore[arg-type]
    return parsed.turns[0]


def policy(**kwargs: object) -> Policy:
    base: dict[str, object] = {
        "dm_policy": "pairing",
        "allow_from": [],
        "group_policy": "allowlist",
        "group_allow_from": [],
        "require_mention": True,
    }
    return Policy.build("telegram", **(base | kwargs))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("settings", "paired", "verdict", "reason", "access"),
    [
        ({}, set(), Verdict.PAIR, "pairing_required", None),
        ({}, {"42"}, Verdict.ADMIT, "", Access.ALLOWED),
        ({"allow_from": ["tg:42"]}, set(), Verdict.ADMIT, "", Access.ALLOWED),
        ({"dm_policy": "allowlist"}, set(), Verdict.REFUSE, "not_allowlisted", None),
        ({"dm_policy": "allowlist", "allow_from": ["telegram:42"]}, set(), Verdict.ADMIT, "", Access.ALLOWED),
        ({"dm_policy": "allowlist", "allow_from": ["*"]}, set(), Verdict.REFUSE, "not_allowlisted", None),
        ({"dm_policy": "open", "allow_from": ["*"]}, set(), Verdict.ADMIT, "", Access.OPEN),
        ({"dm_policy": "open"}, set(), Verdict.ADMIT, "", Access.OPEN),
        ({"dm_policy": "open", "allow_from": ["*", "tg:42"]}, set(), Verdict.ADMIT, "", Access.ALLOWED),
        ({"dm_policy": "open", "allow_from": ["42"]}, set(), Verdict.ADMIT, "", Access.ALLOWED),
        ({"dm_policy": "open", "allow_from": ["*"]}, {"42"}, Verdict.ADMIT, "", Access.ALLOWED),
        ({"dm_policy": "open", "allow_from": ["7"]}, {"42"}, Verdict.REFUSE, "not_allowlisted", None),
        ({"dm_policy": "disabled", "allow_from": ["42"]}, set(), Verdict.REFUSE, "dm_disabled", None),
    ],
)
def test_dm_policy_admits_and_says_how_far_the_sender_is_trusted(
    settings: dict[str, object], paired: set[str], verdict: Verdict, reason: str, access: Access | None
) -> None:
    decision = decide(turn(user_id=42, chat_id=42), policy(**settings), frozenset(paired))
    assert (decision.verdict, decision.reason, decision.access) == (verdict, reason, access)


def test_a_wildcard_entry_names_no_sender_not_even_one_called_star() -> None:
    decision = decide(turn(user_id=42, chat_id=42), policy(dm_policy="open", allow_from=["*"]), frozenset())
    assert decision.access is Access.OPEN
    assert decide(turn(user_id=42, chat_id=42), policy(allow_from=["*"]), frozenset()).verdict is Verdict.PAIR


@pytest.mark.parametrize(
    ("settings", "mention", "verdict", "reason"),
    [
        ({}, True, Verdict.REFUSE, "group_not_allowlisted"),
        ({"group_allow_from": ["-100"]}, False, Verdict.REFUSE, "not_mentioned"),
        ({"group_allow_from": ["-100"]}, True, Verdict.ADMIT, ""),
        ({"group_policy": "open", "require_mention": False}, False, Verdict.ADMIT, ""),
        ({"group_policy": "disabled"}, True, Verdict.REFUSE, "group_disabled"),
    ],
)
def test_group_policy_and_mention_gating(
    settings: dict[str, object], mention: bool, verdict: Verdict, reason: str
) -> None:
    decision = decide(turn(chat_id=-100, chat_type="group", mention=mention), policy(**settings), frozenset())
    assert (decision.verdict, decision.reason) == (verdict, reason)
    assert decision.access is (Access.GROUP if verdict is Verdict.ADMIT else None)


@pytest.mark.parametrize("dm_policy", ["pairing", "allowlist", "open"])
def test_a_group_message_is_only_group_trusted_even_from_the_owner(dm_policy: str) -> None:
    settings = {"dm_policy": dm_policy, "allow_from": ["42"], "group_allow_from": ["42"]}
    group = turn(chat_id=-100, user_id=42, chat_type="supergroup", mention=True)
    decision = decide(group, policy(**settings), frozenset({"42"}))
    assert (decision.verdict, decision.access) == (Verdict.ADMIT, Access.GROUP)


def test_a_pairing_code_is_eight_unambiguous_characters_and_repeats_for_the_same_sender() -> None:
    first = request_pairing((), "42", NOW, secrets.randbelow)
    assert first.created
    assert first.request is not None
    assert len(first.request.code) == 8
    assert set(first.request.code) <= set(ALPHABET)
    again = request_pairing(first.pending, "42", NOW + timedelta(minutes=5), secrets.randbelow)
    assert not again.created
    assert again.request is not None
    assert again.request.code == first.request.code
    assert len(again.pending) == 1


def test_at_most_three_requests_are_pending_and_codes_expire_after_an_hour() -> None:
    pending = ()
    for sender in ("1", "2", "3"):
        pending = request_pairing(pending, sender, NOW, secrets.randbelow).pending
    fourth = request_pairing(pending, "4", NOW, secrets.randbelow)
    assert fourth.request is None
    assert not fourth.created
    later = request_pairing(pending, "4", NOW + timedelta(hours=1), secrets.randbelow)
    assert later.created
    assert [r.sender_id for r in later.pending] == ["4"]


def test_approving_a_code_removes_it_and_names_the_sender_in_any_case() -> None:
    made = request_pairing((), "42", NOW, secrets.randbelow)
    assert made.request is not None
    rest, found = approve_code(made.pending, made.request.code.lower(), NOW)
    assert found is not None
    assert found.sender_id == "42"
    assert rest == ()
    assert approve_code(made.pending, made.request.code, NOW + timedelta(hours=2))[1] is None


@given(st.integers(min_value=0, max_value=2**32))
def test_codes_never_collide_with_pending_ones(seed: int) -> None:
    import random

    rng = random.Random(seed)
    pending = ()
    for sender in ("a", "b", "c"):
        pending = request_pairing(
            pending, sender, NOW, lambda n: rng.randrange(n) if rng.random() > 0.5 else 0
        ).pending
    assert len({r.code for r in pending}) == 3


def test_the_pairing_reply_says_what_to_run() -> None:
    text = pairing_text("telegram", "42", "ABCD2345")
    assert "Pairing code: ABCD2345" in text
    assert "clawbus pairing approve telegram ABCD2345" in text
    assert "42" in text


def test_a_custom_pairing_template_fills_its_placeholders_once_and_keeps_other_braces() -> None:
    template = "Hi {senderId}! Code {code} on {channel}. Owner: `{approveCommand}` {unknown} {}"
    assert pairing_text("telegram", "42", "ABCD2345", template) == (
        "Hi 42! Code ABCD2345 on telegram. Owner: `clawbus pairing approve telegram ABCD2345` {unknown} {}"
    )
    # a sender id that looks like a placeholder is not filled in again
    assert pairing_text("slack", "{code}", "ZZZZ2345", "{senderId}/{code}") == "{code}/ZZZZ2345"
