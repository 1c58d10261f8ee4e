"""Crashes and restarts: kill -9 of each stage at random points, SIGTERM rolling restarts under load."""

from __future__ import annotations

import random
import threading

import pytest

from tests.chaos.harness import ALL_CHANNELS, ChaosPipeline
from tests.chaos.ledger import Ledger
from tests.helpers import wait_for
from tests.ops.ops_cli import clawbus

pytestmark = pytest.mark.chaos

KILLABLE = ("ingress", "dispatcher", "egress-telegram", "egress-slack", "agent")
SCHEDULER = "scheduler"
EVERY_STAGE = (
    "ingress",
    "dispatcher",
    *(f"egress-{c}" for c in ALL_CHANNELS),
    "agent",
    "agentcore",
    SCHEDULER,
)
# A Discord DM's chat comes only with an interaction; a WebChat page shows a conversation it started.
CRON_CHANNELS = ("telegram", "slack", "whatsapp")
AWS_API = "local-aws"


def _kill_while_sending(
    chaos: ChaosPipeline,
    sessions: int,
    messages: int,
    victims: tuple[str, ...],
    kills: int,
    seed: int,
    settle_s: float = 90,
    aws_kills: int = 0,
    think_s: float = 0.0,
    kill_gap_s: tuple[float, float] = (0.3, 2.0),
    scheduled: int = 0,
    due_within_s: tuple[float, float] = (3.0, 15.0),
) -> None:
    """`kills` kill -9s of stages drawn from `victims` (and `aws_kills` of the loopback AWS API itself)
    at random moments while `sessions` sessions each send `messages` messages and `scheduled` one-shot
    cron jobs, due at random moments `due_within_s`, fire; every choice comes from `seed` (printed in
    the report line)."""
    rng = random.Random(seed)
    ledger = Ledger()
    chaos.schedule(
        ledger, [(s, 0, rng.uniform(*due_within_s)) for s in chaos.sessions(scheduled, CRON_CHANNELS)]
    )
    talkers = chaos.sessions(sessions, ALL_CHANNELS)
    sender = threading.Thread(target=chaos.converse, args=(ledger, talkers, messages, think_s, seed))
    sender.start()
    chosen = rng.sample(victims, kills) if kills <= len(victims) else rng.choices(victims, k=kills)
    for _ in range(aws_kills):
        chosen.insert(rng.randrange(len(chosen) + 1), AWS_API)
    for victim in chosen:
        threading.Event().wait(rng.uniform(*kill_gap_s))  # a random point in the traffic
        chaos.until_running()
        if victim == AWS_API:
            chaos.kill_aws()
        else:
            chaos.kill(victim)
    sender.join()
    chaos.until_running()
    verdict = chaos.settle(ledger, timeout=settle_s)
    chaos.report(f"kill-9 x{len(chosen)}", verdict, ledger, seed)
    assert verdict.ok, f"{verdict} (replay with --chaos-seed {seed})"
    chosen = [v for v in chosen if v != AWS_API]  # the watchdog restarts the stages, not the API
    if not chosen:
        return
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
def test_kill_9_of_ingress_mid_traffic_loses_doubles_and_reorders_nothing(
    chaos: ChaosPipeline, chaos_seed: int
) -> None:
    _kill_while_sending(chaos, sessions=8, messages=3, victims=("ingress",), kills=2, seed=chaos_seed)


@pytest.mark.slow
def test_kill_9_of_ingress_and_the_agent_mid_traffic(chaos: ChaosPipeline, chaos_seed: int) -> None:
    _kill_while_sending(chaos, sessions=8, messages=3, victims=("ingress", "agent"), kills=2, seed=chaos_seed)


def test_kill_9_of_each_stage_mid_traffic_loses_doubles_and_reorders_nothing(
    chaos: ChaosPipeline, chaos_seed: int
) -> None:
    _kill_while_sending(
        chaos, sessions=8, messages=3, victims=(*KILLABLE, SCHEDULER), kills=4, seed=chaos_seed, scheduled=3
    )


def test_kill_9_of_the_aws_api_itself_mid_traffic_loses_doubles_and_reorders_nothing(
    chaos: ChaosPipeline, chaos_seed: int
) -> None:
    """The loopback AWS API is killed (no save at stop) and restarted from its snapshot and journal while
    messages flow: what it answered before it died is all there after."""
    _kill_while_sending(chaos, sessions=8, messages=3, victims=(), kills=0, seed=chaos_seed, aws_kills=1)


@pytest.mark.slow
def test_many_kills_over_a_longer_run(chaos: ChaosPipeline, chaos_seed: int) -> None:
    _kill_while_sending(chaos, sessions=24, messages=6, victims=KILLABLE, kills=10, seed=chaos_seed)


@pytest.mark.slow
def test_a_thousand_messages_over_fifty_sessions_through_twenty_kills_of_every_stage(
    long_chaos: ChaosPipeline, chaos_seed: int
) -> None:
    """The long form: 52 sessions (10 or 11 per channel, WebChat included) of 20 messages each,
    seconds apart as people write (about 4 messages a second in all, for about four minutes), 12 cron
    jobs firing among them, 20 kills among every stage (ingress, the dispatcher, each egress worker,
    the agent, the loopback AgentCore, the scheduler) and one of the loopback AWS API itself, spread
    over the traffic."""
    _kill_while_sending(
        long_chaos,
        sessions=52,
        messages=20,
        victims=EVERY_STAGE,
        kills=20,
        seed=chaos_seed,
        settle_s=600,
        aws_kills=1,
        think_s=12.0,
        kill_gap_s=(5.0, 15.0),
        scheduled=12,
        due_within_s=(20.0, 240.0),
    )


def _rolling(chaos: ChaosPipeline, order: list[str], sessions: int, messages: int) -> None:
    ledger = Ledger()
    talkers = chaos.sessions(sessions)
    sender = threading.Thread(target=chaos.converse, args=(ledger, talkers, messages))
    sender.start()
    codes = {name: chaos.rolling_restart(name) for name in order}
    sender.join()
    verdict = chaos.settle(ledger, timeout=90)
    chaos.report(f"sigterm-rolling x{len(order)}", verdict, ledger)
    assert codes == dict.fromkeys(order, 0)  # each drained and exited cleanly
    assert verdict.ok, verdict


def test_sigterm_rolling_restart_under_load_loses_nothing(chaos: ChaosPipeline) -> None:
    _rolling(chaos, ["ingress", "dispatcher", "egress-telegram", "agent"], sessions=8, messages=3)


@pytest.mark.slow
def test_sigterm_rolling_restart_of_every_stage_under_load_loses_nothing(chaos: ChaosPipeline) -> None:
    order = ["ingress", "dispatcher", *(f"egress-{c}" for c in ALL_CHANNELS), "agentcore", "agent"]
    _rolling(chaos, order, sessions=16, messages=5)
