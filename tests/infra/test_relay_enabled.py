"""The relay service runs exactly when a channel needs it.

`clawbus relay` exits "nothing to relay" when no channel is relayed, and ECS would restart it forever.
Terraform derives `relay_enabled` from `channels` and `channel_modes`; evaluated here through
`terraform console` (no providers needed; skipped without the binary) and compared, for every
combination, with what the relay itself would hold (`relayed_channels`, with each listed channel's
credentials present, as its secret provides them).
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from clawbus.bus.settings import Settings
from clawbus.ingress.relay.main import relayed_channels
from tests.infra._hcl import TERRAFORM, Module
from tests.infra.test_webchat_routes import _block

CHANNELS = ("webchat", "telegram", "slack", "discord", "whatsapp")
CREDENTIALS = {
    "telegram": {"bot_token": "1:t", "webhook_secret": "s"},
    "slack": {"bot_token": "xoxb-1", "signing_secret": "s", "app_token": "xapp-1"},
    "discord": {"bot_token": "d", "public_key": "00" * 32},
    "whatsapp": {"access_token": "w", "app_secret": "s", "phone_number_id": "1", "verify_token": "v"},
}


def test_the_relay_resources_follow_the_derived_switch_and_modes_reach_the_stages(
    tf: dict[str, Module],
) -> None:
    root, compute = tf["root"], tf["compute"]
    assert root.modules["compute"]["relay"] == "${merge(var.relay, {enabled = local.relay_enabled})}"
    for kind in ("aws_ecs_service", "aws_ecs_task_definition"):
        assert compute.resources[kind]["relay"]["count"] == "${var.relay.enabled ? 1 : 0}"
    env = compute.locals["common_env"]
    assert env["CLAWBUS_TELEGRAM__MODE"] == "${var.channel_modes.telegram}"
    assert env["CLAWBUS_SLACK__MODE"] == "${var.channel_modes.slack}"


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with the root's channels, channel_modes and relay variables and its relay_* locals."""
    if shutil.which("terraform") is None:
        pytest.skip("the terraform binary is not on PATH")
    root_vars = (TERRAFORM / "variables.tf").read_text("utf-8")
    main = (TERRAFORM / "main.tf").read_text("utf-8")
    relay_locals = [line for line in main.splitlines() if re.match(r"  relay_\w+\s*=", line)]
    assert len(relay_locals) == 2
    work = tmp_path_factory.mktemp("relay-console")
    (work / "main.tf").write_text(
        _block(root_vars, 'variable "channels" {')
        + _block(root_vars, 'variable "channel_modes" {')
        + _block(root_vars, 'variable "relay" {')
        + "locals {\n"
        + "\n".join(relay_locals)
        + "\n}\n",
        "utf-8",
    )
    return work


def _relay_enabled(work: Path, channels: list[str], modes: dict[str, str], relay: str = "{}") -> bool:
    result = subprocess.run(
        [
            "terraform",
            "console",
            "-no-color",
            f"-var=channels={json.dumps(channels)}",
            "-var=channel_modes={" + ", ".join(f'{k} = "{v}"' for k, v in modes.items()) + "}",
            f"-var=relay={relay}",
        ],
        input="jsonencode(local.relay_enabled)\n",
        cwd=work,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return bool(json.loads(json.loads(result.stdout.strip())))


def _relay_would_hold(channels: list[str], modes: dict[str, str]) -> bool:
    settings = Settings.model_validate(
        {
            channel: {**CREDENTIALS[channel], **({"mode": modes[channel]} if channel in modes else {})}
            for channel in channels
            if channel in CREDENTIALS
        }
    )
    return bool(relayed_channels(settings))


@pytest.mark.parametrize(
    "channels", [["webchat", "telegram"], ["slack"], ["discord", "whatsapp"], ["whatsapp"]]
)
def test_relay_runs_exactly_when_the_relay_would_hold_a_connection(
    console: Path, channels: list[str]
) -> None:
    for telegram, slack in itertools.product(("webhook", "polling"), ("events", "socket")):
        modes = {"telegram": telegram, "slack": slack}
        expected = _relay_would_hold(channels, modes)
        assert _relay_enabled(console, channels, modes) == expected, (channels, modes)


def test_an_explicit_relay_enabled_wins(console: Path) -> None:
    modes = {"telegram": "webhook", "slack": "events"}
    assert _relay_enabled(console, ["webchat"], modes, "{enabled = true}") is True
    assert _relay_enabled(console, ["discord"], modes, "{enabled = false}") is False
