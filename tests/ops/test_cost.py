"""`clawbus cost`: the pure cost model, its ties to the Terraform and the settings, and the command."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from clawbus.bus.settings import Settings
from clawbus.cli.cost_model import (
    Prices,
    Sizes,
    Traffic,
    bus_design,
    bus_requests,
    shared_design,
    sync_lambda_design,
    typing_signals,
)
from clawbus.cli.main import main

VARIABLES = Path(__file__).resolve().parents[2] / "infra" / "terraform" / "variables.tf"
PRICES, SIZES = Prices(), Sizes()


def tf_default(variable: str, field: str) -> float:
    """An `optional(number, N)` default (or a plain `default = N`) of a root variable."""
    text = VARIABLES.read_text()
    block = text[text.index(f'variable "{variable}"') :].split('\nvariable "', 1)[0]
    found = re.search(rf"\b{field}\s*=\s*optional\(number,\s*([\d.]+)\)", block) or re.search(
        rf"\b{field}\s*=\s*([\d.]+)", block
    )
    assert found, f"{variable}.{field} not in {VARIABLES}"
    return float(found.group(1))


def test_sizes_are_the_terraform_defaults() -> None:
    assert SIZES.dispatcher_vcpu == tf_default("dispatcher", "cpu") / 1024
    assert SIZES.dispatcher_gb == tf_default("dispatcher", "memory") / 1024
    assert SIZES.dispatcher_min_tasks == tf_default("dispatcher", "min_tasks")
    assert SIZES.relay_vcpu == tf_default("relay", "cpu") / 1024
    assert SIZES.relay_gb == tf_default("relay", "memory") / 1024
    assert SIZES.ingress_lambda_gb == tf_default("lambda", "ingress_memory_mb") / 1024
    assert SIZES.egress_lambda_gb == tf_default("lambda", "egress_memory_mb") / 1024
    assert SIZES.agent_idle_timeout_s == tf_default("agent_idle_session_timeout_s", "default")


def test_the_model_follows_the_dispatcher_settings() -> None:
    dispatcher = Settings().dispatcher
    assert SIZES.dispatcher_wait_time_s == dispatcher.wait_time_s
    after, every = dispatcher.typing_after_ms / 1000, dispatcher.typing_every_s
    assert typing_signals(after - 0.5) == 0  # a quick reply needs no indicator
    assert typing_signals(after + 0.1) == 1
    assert typing_signals(after + every + 0.1) == 2


def test_each_typing_signal_costs_a_publish_and_an_egress_message() -> None:
    quick, slow = bus_requests(Traffic(100, turn_s=1)), bus_requests(Traffic(100, turn_s=10))
    assert quick.sns_publish == 1
    assert slow.sns_publish == 3
    assert slow.sqs - quick.sqs == 2 * 2  # egress receives and deletes each one


def test_the_sync_lambda_is_billed_for_every_second_of_the_turn() -> None:
    short = sync_lambda_design(Traffic(1000, turn_s=5), SIZES, PRICES).per_1000_turns
    long = sync_lambda_design(Traffic(1000, turn_s=65), SIZES, PRICES).per_1000_turns
    waited_gb_s = 1000 * 60 * SIZES.sync_lambda_gb
    assert long - short == pytest.approx(waited_gb_s * PRICES.lambda_gb_second)


def test_the_always_on_dispatcher_is_a_fixed_monthly_cost() -> None:
    month = (0.5 * PRICES.fargate_vcpu_hour + 1.0 * PRICES.fargate_gb_hour) * 730
    few = bus_design(Traffic(10), SIZES, PRICES)
    many = bus_design(Traffic(10_000), SIZES, PRICES)
    assert few.per_month > month
    assert many.per_month - few.per_month < many.per_month - month  # traffic adds only the per-turn part
    assert many.per_1000_turns < few.per_1000_turns / 100


def test_the_bus_saves_on_long_turns_at_high_traffic_and_costs_at_low() -> None:
    busy = Traffic(20_000, turn_s=60)
    assert bus_design(busy, SIZES, PRICES).per_month < sync_lambda_design(busy, SIZES, PRICES).per_month
    quiet = Traffic(50, turn_s=10)
    assert bus_design(quiet, SIZES, PRICES).per_month > sync_lambda_design(quiet, SIZES, PRICES).per_month


def test_agentcore_memory_is_billed_until_the_session_idles_out() -> None:
    sparse = shared_design(Traffic(10, turn_s=10), SIZES, PRICES).per_1000_turns  # sessions idle out
    dense = shared_design(Traffic(10_000, turn_s=10), SIZES, PRICES).per_1000_turns  # the next turn comes
    idle_gb_h = 1000 * (SIZES.agent_idle_timeout_s - 86400 / 10_000) / 3600 * SIZES.agent_gb
    assert sparse - dense == pytest.approx(idle_gb_h * PRICES.agentcore_gb_hour)


def run_cost(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(["cost", *args])
    out, err = capsys.readouterr()
    return int(done.value.code or 0), out, err


def test_cost_prints_the_price_date_and_both_designs(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cost(capsys, "--turns-per-day", "200", "--tokens-per-turn", "10000")
    assert code == 0
    assert f"list prices of {PRICES.as_of}" in out
    for name in ("bus (this design)", "sync Lambda (AgentCore samples)", "model tokens (Bedrock)"):
        assert name in out
    assert "the bus costs $" in out


def test_a_prices_file_overrides_the_table(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    _, plain, _ = run_cost(capsys, "--turns-per-day", "200", "--json")
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"prices": {"as_of": "2030-01-01", "fargate_vcpu_hour": 0.0}}))
    code, out, _ = run_cost(capsys, "--turns-per-day", "200", "--json", "--prices", str(prices))
    assert code == 0
    assert json.loads(out)["prices_as_of"] == "2030-01-01"
    assert json.loads(out)["bus"]["per_month_usd"] < json.loads(plain)["bus"]["per_month_usd"]


def test_a_bad_prices_file_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"prices": {"fargate_vcpu_hour": "cheap"}}))
    code, _, err = run_cost(capsys, "--turns-per-day", "200", "--prices", str(prices))
    assert code == 2
    assert err.count("\n") == 1
    assert "prices.fargate_vcpu_hour" in err
