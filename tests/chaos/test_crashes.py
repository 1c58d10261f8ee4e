"""Crashes and restarts: kill -9 of each stage at random points, SIGTERM rolling restarts under load."""

from __future__ import annotations

import random
import threading

import pytest

from tests.chaos.harness import CHANNELS, ChaosPipeline
from tests.chaos.ledger import Ledger
from tests.helpers import wait_for
from tests.ops.ops_cli import clawbus

pytestmark = pytest.mark.chaos

KILLABLE = ("ingress", "dispatcher", "egress-telegram", "egress-slack", "agent")


def _kill_while_sending(
    chaos: ChaosPipeline, sessions: int, messages: int, victims: tuple[str, ...], kills: int, seed: int
) -> None:
    rng = random.Random(seed)
    ledger = Ledger()
    talkers = chaos.sessions(sessions)
    sender = threading.Thread(target=chaos.converse, args=(ledger, talkers, messages))
    sender.start()
    chosen = rng.sample(victims, kills) if kills <= len(victims) else rng.choices(victims, k=kills)
    for victim in chosen:
        threading.Event().wait(rng.uniform(0.3, 2.0))  # a random point in the traffic
        chaos.until_running()
        chaos.kill(victim)
    sender.join()
    chaos.until_running()
    verdict = chaos.settle(ledger, timeout=90)
    chaos.report(f"kill-9 x{kills}", verdict)
    assert verdict.ok, verdict
    assert any(f"{chosen[0]} exited (-9)" in line for line in chaos.said)

    def status_shows_the_restarts() -> bool:  # the watchdog updates its board a moment after a restart
        status = clawbus(chaos.bus, chaos.data_dir, "status", "--json").json()["stages"]
        shown = {s["name"]: s for s in status["stages"]}
        now = {s.name: s for s in chaos.board().stages}
        return bool(status["supervisor_running"]) and all(
            now[v].deaths >= 1
            and now[v].last_exit == -9
            and shown[v]["restarts"] == now[v].restarts >= 1
            and shown[v]["state"] == "running"
            for v in chosen
        )

    wait_for(status_shows_the_restarts, timeout=20, interval=1, what="clawbus status showing the restarts")


@pytest.mark.slow
def test_kill_9_of_ingress_mid_traffic_loses_doubles_and_reorders_nothing(chaos: ChaosPipeline) -> None:
    _kill_while_sending(chaos, sessions=8, messages=3, victims=("ingress",), kills=2, seed=13)


@pytest.mark.slow
def test_kill_9_of_ingress_and_the_agent_mid_traffic(chaos: ChaosPipeline) -> None:
    _kill_while_sending(chaos, sessions=8, messages=3, victims=("ingress", "agent"), kills=2, seed=13)


def test_kill_9_of_each_stage_mid_traffic_loses_doubles_and_reorders_nothing(chaos: ChaosPipeline) -> None:
    _kill_while_sending(chaos, sessions=8, messages=3, victims=KILLABLE, kills=4, seed=13)


@pytest.mark.slow
def test_many_kills_over_a_longer_run(chaos: ChaosPipeline) -> None:
    _kill_while_sending(chaos, sessions=24, messages=6, victims=KILLABLE, kills=10, seed=7)


def _rolling(chaos: ChaosPipeline, order: list[str], sessions: int, messages: int) -> None:
    ledger = Ledger()
    talkers = chaos.sessions(sessions)
    sender = threading.Thread(target=chaos.converse, args=(ledger, talkers, messages))
    sender.start()
    codes = {name: chaos.rolling_restart(name) for name in order}
    sender.join()
    verdict = chaos.settle(ledger, timeout=90)
    chaos.report(f"sigterm-rolling x{len(order)}", verdict)
    assert codes == dict.fromkeys(order, 0)  # each drained and exited cleanly
    assert verdict.ok, verdict


def test_sigterm_rolling_restart_under_load_loses_nothing(chaos: ChaosPipeline) -> None:
    _rolling(chaos, ["ingress", "dispatcher", "egress-telegram", "agent"], sessions=8, messages=3)


@pytest.mark.slow
def test_sigterm_rolling_restart_of_every_stage_under_load_loses_nothing(chaos: ChaosPipeline) -> None:
    order = ["ingress", "dispatcher", *(f"egress-{c}" for c in CHANNELS), "agentcore", "agent"]
    _rolling(chaos, order, sessions=16, messages=5)
