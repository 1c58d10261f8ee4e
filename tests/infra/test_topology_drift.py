"""The Terraform and the embedded topology (bus/topology.py) describe the same bus.

Every queue, topic, subscription, table and bucket of `build_topology(prefix)` has a Terraform
counterpart with the same name and the settings that matter (FIFO, dedup, visibility, retention, redrive
target and count, filter policy, raw delivery, keys, TTL attribute), and the Terraform's bus and state
modules create nothing the topology does not know. Allowed differences are listed here, explicitly.
"""

from __future__ import annotations

import json
import re
from typing import Any

from clawbus.bus.settings import CHANNELS
from clawbus.bus.topology import Topology, build_topology
from clawbus.schemas import InboundEvent, main_session_key, message_group_id
from tests.infra._hcl import TERRAFORM, Module

PREFIX = "drift-test"
_REF = re.compile(r"aws_(sqs_queue|sns_topic)\.([a-z_]+)(\[each\.key\])?\.arn")
# Terraform-only resources, with the reason they are not in the embedded topology.
TERRAFORM_ONLY = {
    "drift-test-scheduler-dlq": "EventBridge Scheduler's STANDARD dead-letter queue; the embedded default "
    "fires no schedules",
    "drift-test-alarms": "the alarm notification topic (observability, not the bus)",
}


def _instances(resources: dict[str, dict[str, Any]]) -> list[tuple[str, str | None, dict[str, Any]]]:
    """(resource name, each.key, body) for every instance; for_each resources expand over all channels."""
    out = []
    for name, body in resources.items():
        keys: list[str | None] = list(CHANNELS) if "for_each" in body else [None]
        out.extend((name, key, body) for key in keys)
    return out


def _resolve(module: Module, value: Any, key: str | None) -> Any:
    names = {"var.prefix": PREFIX}
    if key is not None:
        names["each.key"] = key
    return module.resolve(value, **names)


def _queues(bus: Module) -> dict[str, dict[str, Any]]:
    bodies = bus.resources["aws_sqs_queue"]
    names = {(res, key): _resolve(bus, body["name"], key) for res, key, body in _instances(bodies)}
    queues = {}
    for res, key, body in _instances(bodies):
        dead_letter = max_receive = None
        if "redrive_policy" in body:
            policy = str(body["redrive_policy"])
            target = _REF.search(policy)
            assert target, f"redrive policy of {res} does not name a queue: {policy}"
            dead_letter = names[(target.group(2), key if target.group(3) else None)]
            count = re.search(r"maxReceiveCount\s*=\s*([\w.]+)", policy)
            assert count, policy
            max_receive = int(_resolve(bus, "${" + count.group(1) + "}", key))
        queues[names[(res, key)]] = {
            "fifo": body.get("fifo_queue"),
            "content_based_dedup": body.get("content_based_deduplication"),
            "dedup_scope": _resolve(bus, body.get("deduplication_scope"), key),
            "throughput": _resolve(bus, body.get("fifo_throughput_limit"), key),
            "visibility": int(_resolve(bus, body["visibility_timeout_seconds"], key)),
            "retention": int(_resolve(bus, body["message_retention_seconds"], key)),
            "dead_letter": dead_letter,
            "max_receive_count": max_receive,
            "encrypted": "kms_master_key_id" in body,
        }
    return queues


def _topology() -> Topology:
    return build_topology(PREFIX)


def test_every_topology_queue_has_a_terraform_queue_with_the_same_settings(tf: dict[str, Module]) -> None:
    queues = _queues(tf["bus"])
    for queue in _topology().queues:
        assert queue.name in queues, f"{queue.name} is in bus/topology.py but not in modules/bus"
        actual = queues[queue.name]
        expected = {
            "fifo": True,
            "content_based_dedup": queue.content_based_dedup,
            "dedup_scope": "messageGroup",
            "throughput": "perMessageGroupId",
            "visibility": queue.visibility_timeout_s,
            "retention": queue.retention_s,
            "dead_letter": queue.dead_letter,
            "max_receive_count": queue.max_receive_count if queue.dead_letter else None,
            "encrypted": True,
        }
        assert actual == expected, f"{queue.name} drifted: terraform {actual} != topology {expected}"


def test_terraform_bus_has_no_queue_the_topology_lacks(tf: dict[str, Module]) -> None:
    known = {q.name for q in _topology().queues}
    extra = set(_queues(tf["bus"])) - known
    assert not extra, f"modules/bus creates queues bus/topology.py does not describe: {sorted(extra)}"


def test_topic_and_subscriptions_match(tf: dict[str, Module]) -> None:
    bus = tf["bus"]
    topology = _topology()
    (topic,) = topology.topics
    (tf_topic,) = bus.resources["aws_sns_topic"].values()
    assert _resolve(bus, tf_topic["name"], None) == topic.name
    assert tf_topic["fifo_topic"] is True
    assert tf_topic["content_based_deduplication"] is topic.content_based_dedup
    (sub,) = bus.resources["aws_sns_topic_subscription"].values()
    assert "for_each" in sub
    assert "var.channels" in str(sub["for_each"])
    assert "aws_sns_topic.outbound.arn" in str(sub["topic_arn"])
    queues = bus.resources["aws_sqs_queue"]
    endpoint = re.fullmatch(r"\$\{aws_sqs_queue\.(\w+)\[each\.key\]\.arn\}", str(sub["endpoint"]))
    assert endpoint, sub["endpoint"]
    assert _resolve(bus, sub["protocol"], None) == "sqs"
    assert sub["raw_message_delivery"] is True
    assert _resolve(bus, sub["filter_policy_scope"], None) == "MessageAttributes"
    by_queue = {s.queue: s for s in topology.subscriptions}
    assert len(by_queue) == len(CHANNELS)
    for channel in CHANNELS:
        queue_name = _resolve(bus, queues[endpoint.group(1)]["name"], channel)
        expected = by_queue[queue_name]
        policy_expr = str(sub["filter_policy"]).replace("each.key", json.dumps(channel))
        parsed = re.fullmatch(r"\$\{jsonencode\(\{\s*channel\s*=\s*\[(\"\w+\")\]\s*\}\)\}", policy_expr)
        assert parsed, f"filter policy is not {{channel = [each.key]}}: {sub['filter_policy']}"
        assert {"channel": [json.loads(parsed.group(1))]} == expected.filter_policy
        assert expected.topic == topic.name


def test_tables_match(tf: dict[str, Module]) -> None:
    state = tf["state"]
    tables = {}
    for _res, body in state.resources["aws_dynamodb_table"].items():
        ttl = body.get("ttl", [{}])[0]
        tables[_resolve(state, body["name"], None)] = {
            "hash": _resolve(state, body["hash_key"], None),
            "range": _resolve(state, body.get("range_key"), None),
            "ttl": _resolve(state, ttl.get("attribute_name"), None) if ttl.get("enabled") else None,
            "types": {
                _resolve(state, a["name"], None): _resolve(state, a["type"], None) for a in body["attribute"]
            },
            "on_demand": _resolve(state, body["billing_mode"], None) == "PAY_PER_REQUEST",
            "pitr": body["point_in_time_recovery"][0]["enabled"],
        }
    expected = {
        t.name: {
            "hash": t.hash_key,
            "range": t.range_key,
            "ttl": t.ttl_attribute,
            # local/provision.py creates every key as a string.
            "types": {k: "S" for k in (t.hash_key, t.range_key) if k},
            "on_demand": True,
            "pitr": True,
        }
        for t in _topology().tables
    }
    assert tables == expected


def test_bucket_name_differs_only_by_the_account_suffix(tf: dict[str, Module]) -> None:
    (bucket,) = _topology().buckets
    (tf_bucket,) = tf["state"].resources["aws_s3_bucket"].values()
    assert str(tf_bucket["bucket"]) == "${var.bucket_name}"
    default = str(tf["root"].locals["state_bucket_name"])
    # The one allowed difference: S3 names are global, so AWS appends the account id.
    assert default == '${coalesce(var.state_bucket_name, "${var.prefix}-state-${local.account_id}")}'
    assert bucket.name == f"{PREFIX}-state"


def test_no_other_stores_than_the_topology_and_the_listed_extras(tf: dict[str, Module]) -> None:
    topology = _topology()
    known = {q.name for q in topology.queues} | {t.name for t in topology.topics} | set(TERRAFORM_ONLY)
    for module in tf.values():
        for rtype in ("aws_sqs_queue", "aws_sns_topic"):
            for res, key, body in _instances(module.resources.get(rtype, {})):
                name = _resolve(module, body["name"], key)
                if "${" in name:
                    name = name.replace("${var.prefix}", PREFIX)
                assert name in known, (
                    f"{module.path.name}: {rtype}.{res} ({name}) is neither in the topology nor listed"
                )


def test_heartbeat_event_is_a_valid_inbound_event_in_the_main_session(tf: dict[str, Module]) -> None:
    template = (TERRAFORM / "modules" / "scheduler" / "heartbeat_event.json.tftpl").read_text("utf-8")
    schedule = tf["scheduler"].resources["aws_scheduler_schedule"]["heartbeat"]
    group_expr = str(schedule["target"][0]["sqs_parameters"][0]["message_group_id"]).strip('"')
    for agent in ("main", "ops"):
        rendered = template.replace("${agent_id}", agent).replace(
            "<aws.scheduler.scheduled-time>", "2025-01-01T00:00:00Z"
        )
        event = InboundEvent.model_validate_json(rendered)
        assert event.kind.value == "heartbeat"
        assert event.session_key == main_session_key(agent)
        assert group_expr.replace("${each.key}", agent) == message_group_id(event.session_key)
    dlq = tf["scheduler"].resources["aws_sqs_queue"]["scheduler_dlq"]
    assert "fifo_queue" not in dlq, "Scheduler DLQs must be STANDARD"
    assert not str(dlq["name"]).endswith('.fifo"'), "Scheduler DLQs must be STANDARD"
