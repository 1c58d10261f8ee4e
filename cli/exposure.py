"""What `clawbus up --host` makes reachable, and the rule that only ingress may leave loopback.

Ingress (WebChat, webhooks, the dashboard) is the one stage meant to be reached from outside: webhooks
are verified per platform and WebChat needs its token. The loopback AWS API (every store and secret), the
AgentCore endpoint and the agent stay on 127.0.0.1 whatever `--host` says; and a `--host` that is not a
loopback address is refused unless `--expose` says the user means it.
"""

from __future__ import annotations

LOOPBACK = "127.0.0.1"  # where the AWS API, the AgentCore endpoint and the agent always listen


def exposure(host: str, port: int) -> list[str]:
    """What `--expose` makes reachable from the network, for the user to read before it happens."""
    return [
        f"--expose: ingress listens on {host}:{port}, reachable from other machines:",
        "  WebChat (/ and /webchat/api/…), which requires its token",
        "  webhooks (/webhooks/…), each request checked with its platform's signature or verify token",
        "  the dashboard (/dashboard), which requires the same token, and /healthz",
        f"  WebChat and the dashboard answer Host {host} and loopback names only; add others to "
        "CLAWBUS_INGRESS__ALLOWED_HOSTS",
        f"The AWS API, the AgentCore endpoint and the agent stay on {LOOPBACK}, behind this run's secrets.",
    ]
