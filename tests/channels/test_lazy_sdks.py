"""A stage loads the platform SDK of the channels it runs and no other (issue 21, a fast start): `clawbus
up`'s default runs WebChat only, and each SDK costs a stage about 0.4 CPU-s of its start. Each case runs in
a fresh interpreter, as a stage does."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.layout import ROOT

SDKS = ("telegram", "slack_sdk", "slack_bolt", "discord", "pywa", "pywa_async", "nacl")

# What each stage imports before it reads its settings, then what it does with the registry at start:
# ingress builds its webhooks (loading enabled channels' verifiers), the dispatcher decides which channels
# get drafts, every stage reads each channel's profile and settings.
_STAGE = """
import json, sys
from clawbus.bus.settings import Settings
from clawbus.channels import registry
import clawbus.dispatcher.main, clawbus.egress.main, clawbus.ingress.http
from clawbus.ingress.webhooks import Webhooks

settings = Settings()
for spec in registry.all_channels():
    spec.enabled(settings), spec.outbound.profile
Webhooks(settings, intake=None)  # type: ignore[arg-type]
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in SDKS)))
"""


def _loaded(env: dict[str, str]) -> set[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CLAWBUS_")}
    ran = subprocess.run(  # our own interpreter
        [sys.executable, "-c", f"SDKS = {SDKS!r}\n{_STAGE}"],
        env={**clean, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    return {name.split(".")[0] for name in json.loads(ran.stdout.strip().splitlines()[-1])}


def test_a_stage_with_webchat_only_loads_no_platform_sdk() -> None:
    assert _loaded({}) == set()


@pytest.mark.parametrize(
    ("env", "sdk"),
    [
        ({"CLAWBUS_TELEGRAM__BOT_TOKEN": "123:abc"}, {"telegram"}),
        ({"CLAWBUS_SLACK__BOT_TOKEN": "xoxb-1"}, {"slack_sdk", "slack_bolt"}),
        ({"CLAWBUS_WHATSAPP__ACCESS_TOKEN": "EAA1"}, {"pywa"}),
        ({"CLAWBUS_DISCORD__BOT_TOKEN": "bot"}, {"nacl"}),  # interactions are verified with PyNaCl
    ],
)
def test_ingress_loads_an_enabled_channels_verifier_at_start_and_no_other(
    env: dict[str, str], sdk: set[str]
) -> None:
    loaded = _loaded(env)
    assert sdk <= loaded
    others = set(SDKS) - sdk - {"pywa_async"}  # pywa imports its async twin itself
    assert not loaded & others, loaded
