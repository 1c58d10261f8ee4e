"""Where the last `clawbus up` listens, for the commands run from another terminal.

`clawbus up --aws-port 5001 --ingress-port 9000 …` writes `<data dir>/endpoints.json` (0600, in the 0700
data directory) once its ports are known. The ops commands (`status`, `dlq`, `cron`, `pairing`, `config`,
`state`) read it when neither a flag nor a setting names an endpoint, so they find that run without being
told its ports again. The file is replaced at each start and left in place at stop: a command run after
`up` stopped then says the recorded endpoint is unreachable, which is the truth.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from clawbus.bus.errors import ConfigError
from clawbus.bus.private_files import write_private

ENDPOINTS_FILE = "endpoints.json"


class LocalEndpoints(BaseModel):
    """One `clawbus up` run's endpoints and the names it provisioned."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    aws_url: str
    ingress_url: str
    agentcore_url: str
    agent_url: str
    region: str
    prefix: str
    pid: int


def endpoints_path(data_dir: Path) -> Path:
    """The endpoints file of the data directory `data_dir`."""
    return data_dir / ENDPOINTS_FILE


def write_endpoints(data_dir: Path, endpoints: LocalEndpoints) -> None:
    """Record `endpoints` for the next ops command (0600, replacing the previous run's at once)."""
    write_private(endpoints_path(data_dir), endpoints.model_dump_json(indent=2).encode())


def read_endpoints(data_dir: Path) -> LocalEndpoints | None:
    """The recorded endpoints; None when no `up` ever ran here. `ConfigError` when the file is unreadable."""
    path = endpoints_path(data_dir)
    try:
        return LocalEndpoints.model_validate(json.loads(path.read_bytes()))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, ValidationError) as exc:
        raise ConfigError(
            f"{path} is not a readable endpoints file ({type(exc).__name__}) — run 'clawbus up' to write a "
            "new one, or pass --endpoint-url"
        ) from exc
