"""Every channel's normaliser: a valid envelope or `InvalidEnvelope` for arbitrary JSON, nothing else."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clawbus.bus.errors import InvalidEnvelope
from clawbus.channels.discord import inbound as discord
from clawbus.channels.slack import inbound as slack
from clawbus.schemas import InboundEvent
from tests.channels.common import CTX, NOW, tg, wa
from tests.ingress import payloads as p

# --- Arbitrary JSON: a valid envelope or InvalidEnvelope, nothing else ---------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=25,
)


def _mutated(data: st.DataObject, base: dict[str, Any]) -> dict[str, Any]:
    """A realistic payload with one field, at some depth, replaced by arbitrary JSON."""
    out = json.loads(json.dumps(base))
    node: Any = out
    while isinstance(node, dict) and node:
        key = data.draw(st.sampled_from(sorted(node)))
        if data.draw(st.booleans()) or not isinstance(node[key], dict):
            node[key] = data.draw(json_values)
            break
        node = node[key]
    return out


NORMALISERS = {
    "telegram": (lambda d: tg(d), p.telegram_message(chat_type="group", mention=True)),
    "slack": (lambda d: slack.normalise(d, ctx=CTX), p.slack_event()),
    "whatsapp": (lambda d: wa(d), p.whatsapp_message(sent_at=int(NOW.timestamp()) - 60)),
    "discord": (lambda d: discord.normalise(d, ctx=CTX), p.discord_command(guild=True)),
    "discord_gateway": (
        lambda d: discord.normalise_message(d, bot_id="900000000000000001", ctx=CTX),
        p.discord_message(mention_bot="900000000000000001"),
    ),
}


@pytest.mark.parametrize("channel", sorted(NORMALISERS))
@settings(max_examples=150, deadline=None)
@given(noise=st.dictionaries(st.text(max_size=12), json_values, max_size=6), data=st.data())
def test_normalisers_return_valid_envelopes_or_raise_invalid_envelope(
    channel: str, noise: dict[str, Any], data: st.DataObject
) -> None:
    normalise, base = NORMALISERS[channel]
    for payload in (noise, _mutated(data, base)):
        try:
            parsed = normalise(payload)
        except InvalidEnvelope:
            continue
        for turn in parsed.turns:
            assert InboundEvent.model_validate_json(turn.event.to_wire()) == turn.event
            assert turn.event.event_id.startswith(f"{channel.split('_')[0]}:")


@pytest.mark.parametrize("nesting", [b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 50_000 + b"}" * 50_000])
def test_json_nested_deeper_than_the_parser_goes_is_an_invalid_envelope_not_a_crash(nesting: bytes) -> None:
    # Found by the chaos fuzzing: a signed Discord interaction like this was a 500 (RecursionError).
    from clawbus.channels.normalised import load_json_object

    with pytest.raises(InvalidEnvelope, match="nested too deeply"):
        load_json_object(nesting)
