"""Where clawbus talks to AWS (region, endpoint, names, timeouts), the storage backends, tracing and the
embedded default."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr

# How the settings table (docs/configuration.md) shows a default that depends on the environment.
SHOWN_DEFAULT = "shown_default"


def standard_aws_region() -> str:
    """The region the AWS SDKs and CLI would use: AWS_REGION, then AWS_DEFAULT_REGION, then us-east-1.

    Lambda, ECS and AgentCore Runtime set AWS_REGION in every process, so a stage in AWS talks to its own
    region without a CLAWBUS_AWS__REGION in its Terraform environment (which, when set, still wins).
    """
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


class AwsSettings(BaseModel):
    """Where the AWS API is. `endpoint_url` set means a loopback API (moto); unset means AWS itself.

    `access_key_id`/`secret_access_key` sign requests to loopback endpoints only (the embedded default's
    AWS API and AgentCore endpoint, which accept nothing else; `clawbus up` sets them for its stages and
    writes them to `<data dir>/local-aws-credentials`, which other commands read). AWS itself is reached
    with the usual AWS credentials (`profile`, `AWS_*` variables, roles), never with these.
    """

    endpoint_url: str | None = None
    region: str = Field(
        default_factory=standard_aws_region,
        json_schema_extra={SHOWN_DEFAULT: "$AWS_REGION, else $AWS_DEFAULT_REGION, else us-east-1"},
    )
    profile: str | None = None
    access_key_id: str | None = None
    secret_access_key: SecretStr | None = None
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 30.0
    max_pool_connections: int = 128


class BusSettings(BaseModel):
    """Names of the bus's resources: everything is `<prefix>-…`."""

    prefix: str = Field(default="clawbus", pattern=r"^[a-z][a-z0-9-]{0,30}$")
    bucket: str | None = None  # default `<prefix>-state`; AWS bucket names are global, so set one there

    def bucket_name(self) -> str:
        """The state bucket's name."""
        return self.bucket or f"{self.prefix}-state"


class AgentCoreSettings(BaseModel):
    """How the dispatcher reaches AgentCore Runtime (`endpoint_url` set: the loopback data plane)."""

    endpoint_url: str | None = None
    runtime_arn: str = "arn:aws:bedrock-agentcore:us-east-1:000000000000:runtime/clawbus_agent-local00000"
    qualifier: str = "DEFAULT"
    read_timeout_s: float = 900.0
    # The loopback data-plane endpoint (embedded default only) forwards to the agent here.
    agent_url: str = "http://127.0.0.1:8080"
    host: str = "127.0.0.1"
    port: int = 8081
    # Loopback endpoint only: answer turns itself after this latency instead of forwarding (benchmarks).
    stub_latency_s: float | None = None


class StorageSettings(BaseModel):
    """Where state lives (docs/state.md): each kind of state's backend, and their limits.

    `blobs` (claim-checked bodies and other blobs) and `config` (the `openclaw.json` document) may live
    in AWS (`s3`; `ssm` for config) or under `local_dir` (default `<local.data_dir>/state`). Records
    are always DynamoDB. `secrets_ttl_s` is how long a process keeps a secret before reading it again
    (a rotation is picked up within it); `config_seed` is the local file stored as the configuration
    document the first time (default `<local.data_dir>/openclaw.json`).
    """

    blobs: Literal["s3", "local"] = "s3"
    config: Literal["ssm", "s3", "local"] = "ssm"
    local_dir: Path | None = None
    blob_max_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    secrets_ttl_s: float = Field(default=300.0, ge=0)
    config_seed: Path | None = None


class TracingSettings(BaseModel):
    """How this stage's spans leave it (bus/tracing.py).

    `otlp`: OTLP/HTTP to `OTEL_EXPORTER_OTLP_ENDPOINT` (or `..._TRACES_ENDPOINT`) when set, nothing when
    not: a collector of the operator's (`clawbus up` with a local collector, a test's loopback one).
    `xray`: OTLP/HTTP straight to X-Ray, SigV4-signed with the stage's own AWS credentials and `aws.region`:
    every stage in AWS with `tracing = true` (needs CloudWatch Transaction Search).
    `xray_endpoint` overrides where those signed requests go (default: X-Ray's in `aws.region`).
    `none`: nothing, whatever the environment says.
    """

    export: Literal["otlp", "xray", "none"] = "otlp"
    xray_endpoint: str | None = Field(
        default=None, json_schema_extra={SHOWN_DEFAULT: "https://xray.<aws.region>.amazonaws.com/v1/traces"}
    )


class LocalSettings(BaseModel):
    """The embedded default's own pieces: the loopback AWS API, and where its state and logs go."""

    aws_host: str = "127.0.0.1"
    aws_port: int = 4566
    data_dir: Path = Field(default_factory=lambda: Path.home() / ".clawbus")
    # How often `clawbus up`'s loopback AWS API saves its state to <data_dir>/aws-state.pickle while
    # serving (it also saves at a clean stop; changes in between are journaled, so a crash loses none of
    # them: this only bounds the journal a restart replays). 0: at stop only.
    snapshot_interval_s: float = Field(default=30.0, ge=0)
