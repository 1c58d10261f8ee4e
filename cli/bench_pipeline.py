"""The pipeline `clawbus bench` measures: every stage as a process on a fresh loopback AWS API, driven by a
workload, with faults injected on demand and the figures (throughput, latency, memory) read back."""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from clawbus.bus.aws import boto3_client
from clawbus.bus.clients import BusClients, QueueClients, open_stage_clients
from clawbus.bus.serve import free_loopback_port
from clawbus.bus.settings import Settings
from clawbus.bus.topology import build_topology, egress_queue_name, inbound_queue_name, outbound_topic_name
from clawbus.cli import bench_ingress
from clawbus.cli.bench_egress import egress_figures
from clawbus.cli.bench_workload import CHANNEL, Ledger, Workload, collect, feed, naive_consumer, relay
from clawbus.cli.console import Console
from clawbus.local.auth import LoopbackCredentials
from clawbus.local.provision import Provisioner
from clawbus.local.supervisor import Stage, Supervisor

PREFIX = "bench"
# Webhooks timed for the ack latency, and bare sends at the same rate: with 200 the p99 is not the maximum.
ACK_SAMPLES = 200
RUNTIME_ARN = "arn:aws:bedrock-agentcore:us-east-1:000000000000:runtime/clawbus_bench-local00000"


def machine() -> dict[str, Any]:
    """Where the figures were measured."""
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


class Bench:
    """One benchmark run: its processes, clients and figures."""

    def __init__(self, args: argparse.Namespace, console: Console, workdir: Path) -> None:
        self.args = args
        self.console = console
        self.aws_port, self.agentcore_port, self.health_port = (
            free_loopback_port(),
            free_loopback_port(),
            free_loopback_port(),
        )
        self.endpoint = f"http://127.0.0.1:{self.aws_port}"
        self.agentcore_url = f"http://127.0.0.1:{self.agentcore_port}"
        self.credentials = LoopbackCredentials.generate()  # its loopback APIs accept only this pair
        secret = self.credentials.secret_access_key.get_secret_value()
        env = {
            "CLAWBUS_AWS__ENDPOINT_URL": self.endpoint,
            "CLAWBUS_AWS__ACCESS_KEY_ID": self.credentials.access_key_id,
            "CLAWBUS_AWS__SECRET_ACCESS_KEY": secret,
            "CLAWBUS_BUS__PREFIX": PREFIX,
            "CLAWBUS_AGENTCORE__ENDPOINT_URL": self.agentcore_url,
            "CLAWBUS_AGENTCORE__PORT": str(self.agentcore_port),
            "CLAWBUS_AGENTCORE__RUNTIME_ARN": RUNTIME_ARN,
            "CLAWBUS_AGENTCORE__STUB_LATENCY_S": "0",
            "PYTHONUNBUFFERED": "1",
        }
        self.supervisor = Supervisor(workdir / "logs", env)
        self.settings = Settings.model_validate(
            {
                "aws": {
                    "endpoint_url": self.endpoint,
                    "access_key_id": self.credentials.access_key_id,
                    "secret_access_key": secret,
                },
                "bus": {"prefix": PREFIX},
            }
        )
        self.figures: dict[str, Any] = {}

    def say(self, text: str) -> None:
        print(f"bench: {text}", file=sys.stderr, flush=True)  # progress on stderr; JSON on stdout

    # --- setup -----------------------------------------------------------------------------------
    def start(self) -> None:
        self.say(f"starting the loopback AWS API on {self.endpoint} and the stub agent")
        self.supervisor.start(
            Stage.clawbus("local-aws", "local_aws.started", "local-aws", "--port", str(self.aws_port))
        )
        report = Provisioner(self.settings.aws).apply(build_topology(PREFIX, channels=(CHANNEL,)))
        self.inbound = report.queue_urls[inbound_queue_name(PREFIX)]
        self.egress = report.queue_urls[egress_queue_name(PREFIX, CHANNEL)]
        self.topic_arn = report.topic_arns[outbound_topic_name(PREFIX)]
        self.supervisor.start(Stage.clawbus("agentcore", "agentcore.started", "local-agentcore"))

    def start_dispatcher(self) -> None:
        env = {
            "CLAWBUS_DISPATCHER__CONCURRENCY": str(max(128, self.args.in_flight)),
            "CLAWBUS_AWS__MAX_POOL_CONNECTIONS": str(max(128, self.args.in_flight) + 64),
            "CLAWBUS_DISPATCHER__HEALTH_PORT": str(self.health_port),
            "CLAWBUS_DISPATCHER__QUEUE__MODE": "followup",
            "CLAWBUS_DISPATCHER__WAIT_TIME_S": "1",
        }
        self.dispatcher = Stage.clawbus("dispatcher", "dispatcher.started", "dispatcher", env=env)
        self.supervisor.start(self.dispatcher)

    def health(self) -> dict[str, Any]:
        return dict(httpx.get(f"http://127.0.0.1:{self.health_port}/healthz", timeout=5).json())

    def fault(self, rule: dict[str, Any] | None) -> None:
        secret = self.credentials.secret_access_key.get_secret_value()
        admin = {"Authorization": f"Bearer {secret}"}
        with httpx.Client(base_url=self.agentcore_url, headers=admin, timeout=5) as client:
            client.delete("/_clawbus/faults")
            if rule is not None:
                client.post("/_clawbus/faults", json=rule).raise_for_status()

    # --- phases ----------------------------------------------------------------------------------
    async def through(self, workload: Workload, mover: str, max_depth: int) -> tuple[float, Ledger]:
        """Feed `workload`, move it with the relay or the running dispatcher, collect; elapsed seconds."""
        ledger = Ledger()
        stop = asyncio.Event()
        async with open_stage_clients(self.settings, BusClients) as clients:
            collectors = [
                asyncio.create_task(collect(clients.sqs, self.egress, ledger, stop)) for _ in range(4)
            ]
            movers = []
            if mover == "relay":
                movers = [
                    asyncio.create_task(relay(clients.sqs, clients.sns, self.inbound, self.topic_arn, stop))
                    for _ in range(8)
                ]
            started = time.monotonic()
            await feed(clients.sqs, self.inbound, workload, lambda: ledger.count, max_depth)
            deadline = started + 170
            while ledger.count < workload.total and time.monotonic() < deadline:  # noqa: ASYNC110  # a count
                await asyncio.sleep(0.05)
            elapsed = time.monotonic() - started
            await asyncio.sleep(1.0)  # late duplicates would arrive now
            stop.set()
            await asyncio.gather(*collectors, *movers)
        return elapsed, ledger

    async def run(self) -> dict[str, Any]:
        args = self.args
        shape = (args.sessions, args.turns)
        verdicts: dict[str, dict[str, int]] = {}

        self.say(f"floor: bare relay over {shape[0]} sessions x {shape[1]} messages (depth ≤ {args.depth})")
        floor_work = Workload("flr", *shape)
        elapsed, ledger = await self.through(floor_work, "relay", args.depth)
        floor = floor_work.total / elapsed
        verdicts["floor"] = ledger.verdict(floor_work)
        redeliveries = ledger.redelivered

        self.say("pipeline: the dispatcher over the same workload shape (stub agent, latency 0)")
        self.start_dispatcher()
        before = self.health()
        pipe_work = Workload("pip", *shape)
        elapsed, ledger = await self.through(pipe_work, "dispatcher", args.depth)
        after = self.health()
        pipeline = pipe_work.total / elapsed
        verdicts["pipeline"] = ledger.verdict(pipe_work)
        redeliveries += ledger.redelivered
        turns = after["turns"] - before["turns"]
        requests = sum(
            after["aws_requests"].get(s, 0) - before["aws_requests"].get(s, 0)
            for s in ("sqs", "sns", "dynamodb")
        )
        by_operation = {
            op: round((n - before["aws_requests_by_operation"].get(op, 0)) / max(1, turns), 3)
            for op, n in after["aws_requests_by_operation"].items()
            if op.split(".")[0] in ("sqs", "sns", "dynamodb")
            and n > before["aws_requests_by_operation"].get(op, 0)
        }

        self.say("concurrency: 128 sessions x 4 turns at agent latency 1 s")
        self.fault({"delay_s": 1.0, "times": -1})
        lat_work = Workload("lat", 128, 4)
        elapsed, ledger = await self.through(lat_work, "dispatcher", 256)
        achieved = lat_work.total / elapsed
        verdicts["latency_1s"] = ledger.verdict(lat_work)
        redeliveries += ledger.redelivered

        memory = await self.memory_at_in_flight(args.in_flight)

        self.say("naive: a sequential boto3 consumer at latency 1 s")
        self.supervisor.kill("dispatcher")
        sqs = boto3_client(self.settings.aws, "sqs")
        sqs.purge_queue(QueueUrl=self.inbound)
        self.fault({"delay_s": 1.0, "times": -1})
        naive_work = Workload("nai", 8, 1)
        async with open_stage_clients(self.settings, QueueClients) as clients:
            await feed(clients.sqs, self.inbound, naive_work, lambda: 0, 100)
        naive_clients = {
            "sqs": sqs,
            "sns": boto3_client(self.settings.aws, "sns"),
            "agentcore": boto3_client(
                self.settings.aws, "bedrock-agentcore", endpoint_url=self.agentcore_url
            ),
        }
        naive = await asyncio.to_thread(
            naive_consumer, naive_clients, self.inbound, self.topic_arn, RUNTIME_ARN, 6
        )

        ingress = await self.ingress_figures()
        egress = await egress_figures(self)
        by_stage = {
            "ingress": ingress.pop("ingress_requests_per_event"),
            "dispatcher": round(requests / max(1, turns), 2),
            "egress": egress["egress_requests_per_reply"],
        }

        capacity = pipeline
        total = {k: sum(v[k] for v in verdicts.values()) for k in ("order_violations", "duplicates", "lost")}
        total["duplicates"] += egress["egress_duplicates"]
        total["lost"] += egress["egress_lost"]
        return {
            "floor_msgs_per_s": round(floor, 1),
            "pipeline_msgs_per_s": round(pipeline, 1),
            "pipeline_vs_floor": round(pipeline / floor, 3),
            "capacity_turns_per_s": round(capacity, 1),
            "latency_1s_turns_per_s": round(achieved, 1),
            "concurrency_efficiency": round(achieved / min(128 / 1.0, capacity), 3),
            "naive_turns_per_s": round(naive, 3),
            "speedup_vs_naive": round(achieved / naive, 1),
            **total,
            "checks_by_phase": verdicts,
            "collector_redeliveries": redeliveries,
            "aws_requests_per_turn": by_stage["dispatcher"],  # the dispatcher's share, as measured before
            "aws_requests_per_turn_by_stage": by_stage,
            "dispatcher_requests_per_turn_by_operation": by_operation,
            "aws_requests_per_turn_bus": None
            if None in by_stage.values()
            else round(sum(by_stage.values()), 2),
            **memory,
            **ingress,
            **egress,
            "workload": {"sessions": args.sessions, "turns": args.turns, "max_depth": args.depth},
            "machine": machine(),
        }

    async def ingress_figures(self) -> dict[str, float | int]:
        """Signed webhooks through the real ingress vs bare sends, and the ack latency at a steady rate."""
        self.say("ingress: signed Telegram webhooks vs bare SQS sends (same queue, 8 clients each)")
        port = free_loopback_port()
        env = {
            "CLAWBUS_INGRESS__PORT": str(port),
            "CLAWBUS_TELEGRAM__BOT_TOKEN": bench_ingress.BOT_TOKEN,
            "CLAWBUS_TELEGRAM__WEBHOOK_SECRET": bench_ingress.SECRET,
            "CLAWBUS_TELEGRAM__DM_POLICY": "open",
            "CLAWBUS_TELEGRAM__ALLOW_FROM": '["*"]',
        }
        # Fresh queues for each side (moto allows one purge a minute): the same depth profile for both.
        provisioner = Provisioner(self.settings.aws)
        floor_url = provisioner.apply(build_topology(f"{PREFIX}f", channels=(CHANNEL,))).queue_urls[
            inbound_queue_name(f"{PREFIX}f")
        ]
        provisioner.apply(build_topology(f"{PREFIX}i", channels=(CHANNEL,)))
        env["CLAWBUS_BUS__PREFIX"] = f"{PREFIX}i"
        self.supervisor.start(Stage.clawbus("ingress", "ingress.started", "ingress", env=env))
        base = f"http://127.0.0.1:{port}"
        count, clients = 200, 8
        async with open_stage_clients(self.settings, QueueClients) as aws:
            floor = await bench_ingress.floor_sends(aws.sqs, floor_url, count, clients, "f")
        before = await bench_ingress.aws_requests(base)
        accepted, refused = await bench_ingress.ingress_accepts(base, count, clients, offset=1000)
        requests = await bench_ingress.aws_requests(base) - before
        rate = min(20.0, accepted / 2)
        latency = await bench_ingress.ack_latency(base, rate_per_s=rate, count=ACK_SAMPLES, offset=5000)
        async with open_stage_clients(self.settings, QueueClients) as aws:  # the same rate, bare
            bare = await bench_ingress.send_latency(aws.sqs, floor_url, rate, ACK_SAMPLES, "s")
        return {
            "ingress_floor_sends_per_s": round(floor, 1),
            "ingress_accepted_per_s": round(accepted, 1),
            "ingress_vs_floor": round(accepted / floor, 3),
            "ingress_refused": refused,
            "webhook_ack_p50_ms": latency["p50"],
            "webhook_ack_p99_ms": latency["p99"],
            "bare_send_p50_ms": bare["p50"],
            "bare_send_p99_ms": bare["p99"],
            "ingress_requests_per_event": round(requests / max(1, count - refused), 2),
        }

    def rss_mb(self) -> float:
        assert self.dispatcher.process
        rss: int = psutil.Process(self.dispatcher.process.pid).memory_info().rss
        return round(rss / 2**20, 1)

    async def memory_at_in_flight(self, count: int) -> dict[str, Any]:
        """RSS idle and with `count` turns held in flight; the 1,000 figure measured or extrapolated."""
        self.say(f"memory: {count} turns in flight (the stub agent holds each for 120 s)")
        idle = self.rss_mb()
        self.fault({"delay_s": 120.0, "times": -1})
        work = Workload("rss", count, 1)
        async with open_stage_clients(self.settings, QueueClients) as clients:
            await feed(clients.sqs, self.inbound, work, lambda: 0, count)
        deadline = time.monotonic() + 120
        while self.health()["in_flight"] < count:
            if time.monotonic() > deadline:
                self.say(f"memory: only {self.health()['in_flight']} in flight after 120 s; no figure")
                return {"rss_mb_idle": idle, "rss_mb_at_1000_in_flight": None}
            await asyncio.sleep(0.5)
        held = self.rss_mb()
        at_1000 = held if count == 1000 else round(idle + (held - idle) / count * 1000, 1)
        return {
            "rss_mb_idle": idle,
            f"rss_mb_at_{count}_in_flight": held,
            "rss_mb_at_1000_in_flight": at_1000,
            "rss_1000_is": "measured" if count == 1000 else f"extrapolated linearly from {count}",
        }
