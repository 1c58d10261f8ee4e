"""`clawbus cost`: AWS cost per 1,000 turns and per month, beside the synchronous-Lambda design.

Everything is computed by `cli/cost_model.py` from the traffic given here, the Terraform's default sizes
and a dated table of list prices (printed; `--prices FILE` overrides prices and sizes). Nothing is read
from AWS. Exit 2 when the prices file cannot be used.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from pydantic import ValidationError

from clawbus.cli.console import Console
from clawbus.cli.cost_model import (
    CostInputs,
    Design,
    Traffic,
    bus_design,
    bus_requests,
    shared_design,
    sync_lambda_design,
)


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`cost`'s flags."""
    parser.add_argument("--turns-per-day", type=_positive, required=True, help="agent turns a day")
    parser.add_argument(
        "--tokens-per-turn",
        type=int,
        default=0,
        help="model tokens per turn, input + output (default 0: leave the model out)",
    )
    parser.add_argument(
        "--output-share", type=float, default=0.1, help="share of the tokens the model writes (default 0.1)"
    )
    parser.add_argument(
        "--turn-seconds", type=_positive, default=10.0, help="how long the agent's turn takes (default 10)"
    )
    parser.add_argument("--channels", type=int, default=1, help="channels with an egress queue (default 1)")
    parser.add_argument(
        "--relay", action="store_true", help="count the always-on relay task (polling/Socket Mode/gateway)"
    )
    parser.add_argument(
        "--prices",
        type=Path,
        metavar="FILE",
        help='JSON overriding prices and sizes: {"prices": {"as_of": "...", ...}, "sizes": {...}}',
    )
    parser.add_argument("--json", action="store_true", help="print JSON")


def _design_json(design: Design) -> dict[str, object]:
    return {
        "per_1000_turns_usd": round(design.per_1000_turns, 4),
        "per_month_usd": round(design.per_month, 2),
        "lines": [
            {"item": line.item, "per_turn_usd": line.per_turn, "fixed_month_usd": round(line.fixed_month, 4)}
            for line in design.lines
        ],
    }


def _row(
    label: str, per_turn: float, fixed_month: float, traffic: Traffic, month: float | None = None
) -> str:
    turns = traffic.turns_per_month
    per_1000 = per_turn * 1000 + (fixed_month / turns * 1000 if turns else 0.0)
    if month is None:
        month = per_turn * turns + fixed_month
    return f"{label:<54}{'$' + format(per_1000, ',.4f'):>16}{'$' + format(month, ',.2f'):>12}"


def run_cost(args: argparse.Namespace, console: Console) -> int:
    """Compute and print the estimate; exit 2 when `--prices` cannot be used."""
    try:
        inputs = CostInputs.model_validate_json(args.prices.read_bytes()) if args.prices else CostInputs()
    except (OSError, ValidationError) as exc:
        first = exc.errors()[0] if isinstance(exc, ValidationError) else None
        why = f"{'.'.join(map(str, first['loc']))}: {first['msg']}" if first else str(exc)
        console.error(f"cost: --prices {args.prices}: {why}")
        return 2
    traffic = Traffic(
        turns_per_day=args.turns_per_day,
        turn_s=args.turn_seconds,
        tokens_per_turn=args.tokens_per_turn,
        output_share=args.output_share,
        channels=args.channels,
        relay=args.relay,
    )
    prices, sizes = inputs.prices, inputs.sizes
    bus = bus_design(traffic, sizes, prices)
    sync = sync_lambda_design(traffic, sizes, prices)
    shared = shared_design(traffic, sizes, prices)
    requests = bus_requests(traffic)
    if args.json:
        document = {
            "prices_as_of": prices.as_of,
            "region": prices.region,
            "turns_per_month": round(traffic.turns_per_month),
            "bus_aws_requests_per_turn": requests.total,
            "requests_source": "model of the code paths (cli/cost_model.py), batches of one",
            "bus": _design_json(bus),
            "sync_lambda": _design_json(sync),
            "shared": _design_json(shared),
        }
        console.print(json.dumps(document))
        return 0
    console.print(
        f"list prices of {prices.as_of} ({prices.region}, on-demand, no free tier)"
        + (f", overridden by {args.prices}" if args.prices else "")
    )
    console.print(
        f"traffic: {traffic.turns_per_day:g} turns/day = {traffic.turns_per_month:,.0f}/month, "
        f"{traffic.turn_s:g} s per turn; bus AWS requests per turn: {requests.total:g} "
        "(modelled from the code paths, batches of one)"
    )
    console.print("")
    console.print(f"{'':<54}{'per 1,000 turns':>16}{'per month':>12}")
    for design in (bus, sync, shared):
        console.print(design.name)
        for line in design.lines:
            console.print(_row(f"  {line.item}", line.per_turn, line.fixed_month, traffic))
        console.print(_row("  total", design.per_1000_turns / 1000, 0.0, traffic, month=design.per_month))
    difference = bus.per_month - sync.per_month
    verdict = "costs" if difference > 0 else "saves"
    console.print("")
    console.print(
        f"the bus {verdict} ${abs(difference):,.2f}/month against the sync Lambda at this traffic "
        f"(shared costs ${shared.per_month:,.2f}/month either way)"
    )
    return 0
