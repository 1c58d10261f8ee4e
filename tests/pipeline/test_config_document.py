"""The stored openclaw.json configures real stage processes (loopback AWS API), under the environment.

A user imports or edits the document, restarts a stage (or runs `clawbus cron sync` for heartbeats)
and sees the behaviour change; `clawbus config show` says which values came from the document. A store
that cannot be read stops a stage at start.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from clawbus.bus.topology import egress_queue_name, inbound_queue_name
from clawbus.storage import config_parameter_name
from clawbus.storage.cron.jobs import heartbeat_schedule_name
from tests.conftest import Bus
from tests.helpers import drain_queue, free_port, post_telegram, run_cli, stage, stage_supervisor
from tests.ingress import payloads as p

TG_SECRET = "tg-webhook-secret"
OPEN_DMS = """{
  // as 'clawbus state import' stores it (credentials are in the secret store)
  session: { dmScope: "per-channel-peer" },
  messages: { queue: { mode: "followup", debounceMs: 250 } },
  channels: { telegram: { dmPolicy: "open", allowFrom: ["*"] } },
}"""


def store_document(bus: Bus, text: str) -> None:
    bus.client("ssm").put_parameter(
        Name=config_parameter_name(bus.prefix), Value=text, Type="SecureString", Overwrite=True
    )


def run_clawbus(bus: Bus, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CLAWBUS_")}
    return run_cli(list(args), {**clean, **bus.env, **(env or {})}, timeout=60)


def test_config_show_marks_the_values_that_came_from_the_document(bus: Bus) -> None:
    store_document(bus, OPEN_DMS)
    ran = run_clawbus(bus, "config", "show", "--json", env={"CLAWBUS_DISPATCHER__QUEUE__DEBOUNCE_MS": "900"})
    assert ran.returncode == 0, ran.stderr
    shown = json.loads(ran.stdout)
    assert shown["settings"]["session"]["dm_scope"] == "per-channel-peer"
    assert shown["sources"]["session.dm_scope"] == {"source": "document", "key": "session.dmScope"}
    assert shown["sources"]["telegram.dm_policy"]["key"] == "channels.telegram.dmPolicy"
    assert shown["settings"]["dispatcher"]["queue"]["debounce_ms"] == 900  # the env var wins
    assert shown["sources"]["dispatcher.queue.debounce_ms"] == {"source": "env"}
    assert "slack.dm_policy" not in shown["sources"]  # a default
    assert shown["document"]["version"] == "1"


def test_config_show_without_a_document_shows_defaults_and_a_bad_one_names_its_key(bus: Bus) -> None:
    ran = run_clawbus(bus, "config", "show")
    assert ran.returncode == 0, ran.stderr
    assert "(none stored)" in ran.stdout
    assert "session.dm_scope = main\n" in ran.stdout
    store_document(bus, '{ session: { dmScope: "per-user" } }')
    bad = run_clawbus(bus, "config", "show")
    assert bad.returncode == 2
    assert "openclaw.json session.dmScope: expected one of main, per-peer" in bad.stderr


def test_ingress_lets_an_unknown_telegram_sender_in_when_the_document_opens_dms(
    bus: Bus, tmp_path: Path
) -> None:
    store_document(bus, OPEN_DMS)
    port = free_port()
    env = {
        **bus.env,
        "CLAWBUS_INGRESS__PORT": str(port),
        "CLAWBUS_TELEGRAM__BOT_TOKEN": p.BOT_TOKEN,
        "CLAWBUS_TELEGRAM__WEBHOOK_SECRET": TG_SECRET,
    }
    supervisor = stage_supervisor(tmp_path / "logs", env)
    supervisor.start_all([stage("ingress", "ingress.started", "ingress")])
    try:
        update = p.telegram_message(user_id=77, chat_id=77, text="hi, stranger here")
        post_telegram(f"http://127.0.0.1:{port}", update, TG_SECRET)
        sqs = bus.client("sqs")
        url = bus.queue_url(inbound_queue_name(bus.prefix))
        [event] = drain_queue(sqs, url, expect=1, mid_turn_copies=False)
        # dmPolicy open (not the default pairing) let it in; dmScope per-channel-peer keyed its session
        assert event["session_key"] == "agent:main:telegram:direct:77"
        assert drain_queue(sqs, bus.queue_url(egress_queue_name(bus.prefix, "telegram"))) == []  # no code
    finally:
        codes = supervisor.stop_all()
    assert all(code == 0 for _, code in codes), codes


def test_a_stage_whose_config_store_is_unreachable_stops_at_start_saying_why(bus: Bus) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    ran = run_clawbus(bus, "dispatcher", env={"CLAWBUS_AWS__ENDPOINT_URL": closed})
    assert ran.returncode == 1
    assert f"cannot read the configuration document (SSM parameter /{bus.prefix}/config)" in ran.stderr
    assert time.monotonic() - started < 30


def test_cron_sync_applies_the_documents_heartbeat_under_the_environment(bus: Bus) -> None:
    store_document(
        bus,
        '{ agents: { defaults: { userTimezone: "Europe/Berlin", heartbeat: { every: "2h" } } } }',
    )
    ran = run_clawbus(bus, "cron", "sync", "--json")
    assert ran.returncode == 0, ran.stderr
    schedule = bus.client("scheduler").get_schedule(
        Name=heartbeat_schedule_name(bus.prefix, "main"), GroupName=bus.prefix
    )
    assert schedule["ScheduleExpression"] == "rate(2 hours)"
    assert schedule["ScheduleExpressionTimezone"] == "Europe/Berlin"
    env = {"CLAWBUS_HEARTBEAT__EVERY": "45m"}
    assert run_clawbus(bus, "cron", "sync", "--json", env=env).returncode == 0
    schedule = bus.client("scheduler").get_schedule(
        Name=heartbeat_schedule_name(bus.prefix, "main"), GroupName=bus.prefix
    )
    assert schedule["ScheduleExpression"] == "rate(45 minutes)"  # the env var wins over the document
