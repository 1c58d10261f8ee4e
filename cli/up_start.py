"""Which of `clawbus up`'s stages start together, and the line each prints when it is ready.

The stages start in two waves, each wave's processes at once (a Python stage spends most of its start
importing; one after another, the stages took 12 of `up`'s 18 s):

1. the loopback AWS API, with the stage forker beside it importing what every other stage imports
   (`cli/stage_forker.py`);
2. once the topology is provisioned and the configuration document seeded (the stages read it when they
   start): the agent, the loopback AgentCore endpoint, the dispatcher, one egress worker per channel,
   ingress, the relay when needed and the schedule firer, each forked from the forker's warm imports.

The AgentCore endpoint needs no AWS, but nothing calls it before the dispatcher runs a turn: started with
the AWS API it cost 0.75 CPU-s beside moto's start, forked with the second wave 0.2. Spawning the second
wave with the first, each stage importing and then waiting for a go-ahead file, was measured and dropped:
on two cores the imports only slowed the AWS API's start, which everything waits for (docs/performance.md,
"Start"); the forker imports once instead of six times. A stage that exits or misses its deadline fails
`up` as before (`Supervisor.start_all` raises `StageFailed` naming it). Stop order is the supervisor's,
reverse spawn order: the dispatcher before the AgentCore endpoint and the agent, the AWS API last.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.util import find_spec

from clawbus.bus.settings import Settings
from clawbus.local.supervisor import Stage, Supervisor

AWS_STOP_GRACE_S = 60.0  # the loopback API saves its state after it stops serving: let it finish


def first_wave(aws_port: int, state_file: str, loopback: str) -> list[Stage]:
    """The loopback AWS API: what every other stage needs first."""
    local_aws = Stage.clawbus(
        "local-aws",
        "local_aws.started",
        "local-aws",
        "--host",
        loopback,
        "--port",
        str(aws_port),
        "--state-file",
        state_file,
    )
    local_aws.stop_grace_s = AWS_STOP_GRACE_S
    return [local_aws]


def second_wave(channels: list[str], relayed: list[str], ingress_at: tuple[str, int]) -> list[Stage]:
    """Every stage that reads the stored configuration document or the provisioned queues at start.
    Ingress's port (`ingress_at`) is held by the supervisor, so a restart refuses no webhook."""
    stages = [
        Stage.clawbus("agent", "agent.started", "agent"),
        Stage.clawbus("agentcore", "agentcore.started", "local-agentcore"),
        Stage.clawbus("dispatcher", "dispatcher.started", "dispatcher"),
        *(Stage.clawbus(f"egress-{channel}", "egress.started", "egress", channel) for channel in channels),
        Stage.clawbus("ingress", "ingress.started", "ingress", listen=ingress_at),
    ]
    if relayed:  # polling / Socket Mode / gateway connections, if configured
        stages.append(Stage.clawbus("relay", "relay.started", "relay"))
    stages.append(Stage.clawbus("scheduler", "scheduler.started", "scheduler"))
    return stages


def relayed_of(settings: Settings) -> list[str]:
    """The channels the relay serves (polling / Socket Mode / gateway connections), if any; importing the
    relay costs `up` 0.4 CPU-s, so `up` does it while the AWS API starts, and only when an enabled channel
    has a relay transport (`channels/<channel>/relay.py`) at all: with WebChat alone, never."""
    if not any(find_spec(f"clawbus.channels.{channel}.relay") for channel in settings.enabled_channels()):
        return []
    from clawbus.ingress.relay import relayed_channels

    return relayed_channels(settings)


def ready_line(name: str, seconds: float | None) -> str:
    """What `up` prints when a stage is ready: its name and the seconds from its spawn to its ready event."""
    took = "?" if seconds is None else f"{seconds:.1f}"
    return f"  {name} ready in {took} s"


def start_wave(supervisor: Supervisor, stages: list[Stage], say: Callable[[str], None]) -> None:
    """Start `stages` at once and say, as each becomes ready, how long it took; raises `StageFailed`."""
    supervisor.start_all(stages, on_ready=lambda stage: say(ready_line(stage.name, stage.ready_after_s)))
