"""`clawbus <stage>`: one stage of the pipeline in this process — logging, tracing and the configuration
document set up first, then the stage's own server or consumer until a stop signal. Each stage's modules
are imported only here, when that stage runs (the CLI's other commands never load them)."""

from __future__ import annotations

import argparse
import asyncio

from clawbus.bus.errors import ConfigError
from clawbus.bus.logging import configure_logging
from clawbus.bus.settings import Settings
from clawbus.cli import up_steps
from clawbus.local.credentials import required_credentials

# The loopback AWS API makes no spans: it is spared OpenTelemetry's SDK (0.1 CPU-s of the start `up` waits
# for before anything else can start).
UNTRACED_STAGES = frozenset({"local-aws"})
# Stages that read the configuration document (openclaw.json) once at start (openclaw/document_settings.py).
DOCUMENT_STAGES = frozenset({"ingress", "relay", "dispatcher", "egress", "agent", "scheduler"})


def run_stage(command: str, args: argparse.Namespace, settings: Settings) -> None:
    """Run the stage `command` in this process until it is stopped (`clawbus <stage>`)."""
    from clawbus.bus.serve import serve_asgi

    configure_logging(settings.log_level)
    if command not in UNTRACED_STAGES:
        from clawbus.bus.tracing import configure_tracing  # OpenTelemetry's SDK: not for `up` and `say`

        configure_tracing(command, settings)
    if command in DOCUMENT_STAGES:
        from clawbus.openclaw.document_settings import load_settings

        settings = load_settings(settings).settings
    if command == "local-aws":
        if missing := up_steps.missing_local_extra():
            raise ConfigError(missing)
        from clawbus.local.aws import serve_local_aws

        interval = args.snapshot_interval
        if interval is None:
            interval = settings.local.snapshot_interval_s
        credentials, hint = required_credentials(settings, "local-aws")
        serve_local_aws(args.host, args.port, credentials, args.state_file, interval, hint, args.dedup_window)
    elif command == "ingress":
        from clawbus.bus.listen import inherited_listener
        from clawbus.bus.request_deadlines import ServerLimits
        from clawbus.ingress.http import create_app as ingress_app

        web = settings.ingress
        limits = ServerLimits(web.header_timeout_s, web.body_timeout_s, web.max_connections)
        sock = inherited_listener()  # `clawbus up` holds ingress's port across restarts
        asyncio.run(
            serve_asgi(
                ingress_app(settings), host=web.host, port=web.port, stage="ingress", limits=limits, sock=sock
            )
        )
    elif command == "agent":
        from clawbus.agent import create_app as agent_app
        from clawbus.agent.fleet import open_agents

        app = agent_app(
            lambda: open_agents(settings), settings.agent.max_request_bytes, settings.agent.invoke_token
        )
        asyncio.run(serve_asgi(app, host=settings.agent.host, port=settings.agent.port, stage="agent"))
    elif command == "local-agentcore":
        from clawbus.local.agentcore import create_app as agentcore_app

        core = settings.agentcore
        credentials, hint = required_credentials(settings, "local-agentcore")
        app = agentcore_app(
            core.agent_url,
            core.runtime_arn,
            core.read_timeout_s,
            core.stub_latency_s,
            credentials=credentials,
            invoke_token=settings.agent.invoke_token,
            hint=hint,
        )
        asyncio.run(serve_asgi(app, host=core.host, port=core.port, stage="agentcore"))
    elif command == "relay":
        from clawbus.ingress.relay import run as run_relay

        asyncio.run(run_relay(settings))
    elif command == "dispatcher":
        from clawbus.dispatcher.main import run as run_dispatcher

        asyncio.run(run_dispatcher(settings))
    elif command == "scheduler":
        from clawbus.scheduler.firer import run as run_firer

        asyncio.run(run_firer(settings))
    elif command == "egress":
        from clawbus.egress.main import run as run_egress

        asyncio.run(run_egress(settings, args.channel))
