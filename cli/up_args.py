"""`clawbus up`'s flags, apart from `cli/up.py`: every command's parser adds them, and importing `up` itself
(the provisioner, the supervisor, botocore) would cost `clawbus say` and each stage a third of a second."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`up`'s flags."""
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address ingress (WebChat, webhooks) binds (default 127.0.0.1); any other needs --expose",
    )
    parser.add_argument(
        "--expose",
        action="store_true",
        help="allow a non-loopback --host: ingress becomes reachable from the network (the AWS API, the "
        "AgentCore endpoint and the agent stay on 127.0.0.1)",
    )
    parser.add_argument("--ingress-port", type=int, help="ingress/WebChat port (default 8787)")
    parser.add_argument("--agent-port", type=int, help="agent container port (default 8080)")
    parser.add_argument("--agentcore-port", type=int, help="loopback AgentCore endpoint port (default 8081)")
    parser.add_argument("--aws-port", type=int, help="loopback AWS API (moto) port (default 4566)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="where the loopback AWS API's state (stores, queues) and the logs live (default ~/.clawbus)",
    )
    parser.add_argument(
        "--engine",
        choices=("native", "openclaw"),
        help="who runs the agent's turns (default: CLAWBUS_AGENT__ENGINE, else native); openclaw installs "
        "Node 24 and OpenClaw into <data dir>/openclaw-runtime on first use",
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="start with empty stores and queues; the saved state is moved aside, not deleted",
    )
