"""Where the embedded default's key pair lives, for the commands `clawbus up` did not start.

`clawbus up` makes a new `LoopbackCredentials` pair at every start, gives it to each stage it starts as
`CLAWBUS_AWS__ACCESS_KEY_ID` / `CLAWBUS_AWS__SECRET_ACCESS_KEY`, and writes it to
`<data dir>/local-aws-credentials` (0600, in the 0700 data directory) in the AWS shared-credentials
format. Commands run from another terminal (`clawbus status`, `dlq`, `cron`, `state`, `config`) read it
from there when those settings are unset; so can the AWS CLI:
`AWS_SHARED_CREDENTIALS_FILE=~/.clawbus/local-aws-credentials aws --endpoint-url http://127.0.0.1:4566 …`.
The pair opens only that run's loopback APIs; the next `clawbus up` replaces it.
"""

from __future__ import annotations

import configparser
import io
from pathlib import Path

from pydantic import SecretStr

from clawbus.bus.errors import ConfigError
from clawbus.bus.private_files import write_private
from clawbus.bus.settings import Settings
from clawbus.local.auth import LoopbackCredentials

CREDENTIALS_FILE = "local-aws-credentials"
_PROFILE = "default"


def credentials_path(data_dir: Path) -> Path:
    """The credentials file of the data directory `data_dir`."""
    return data_dir / CREDENTIALS_FILE


def write_credentials(path: Path, credentials: LoopbackCredentials) -> None:
    """Write `credentials` to `path` (0600, replacing the previous run's at once)."""
    parser = configparser.ConfigParser(interpolation=None)
    parser[_PROFILE] = {
        "aws_access_key_id": credentials.access_key_id,
        "aws_secret_access_key": credentials.secret_access_key.get_secret_value(),
    }
    text = io.StringIO()
    text.write("# The loopback AWS API's key pair of the last 'clawbus up' (replaced at each start).\n")
    parser.write(text)
    write_private(path, text.getvalue().encode())


def read_credentials(path: Path) -> LoopbackCredentials | None:
    """The pair in `path`; None when there is no such file. `ConfigError` when it is not readable as one."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with path.open(encoding="utf-8") as source:
            parser.read_file(source)
        section = parser[_PROFILE]
        return LoopbackCredentials(
            access_key_id=section["aws_access_key_id"],
            secret_access_key=SecretStr(section["aws_secret_access_key"]),
        )
    except FileNotFoundError:
        return None
    except (OSError, KeyError, configparser.Error) as exc:
        raise ConfigError(
            f"{path} is not a readable credentials file ({type(exc).__name__}) — run 'clawbus up' to "
            "write a new one, or set CLAWBUS_AWS__ACCESS_KEY_ID and CLAWBUS_AWS__SECRET_ACCESS_KEY"
        ) from exc


def with_credentials(settings: Settings, credentials: LoopbackCredentials) -> Settings:
    """`settings` signing loopback requests with `credentials`."""
    aws = settings.aws.model_copy(
        update={
            "access_key_id": credentials.access_key_id,
            "secret_access_key": credentials.secret_access_key,
        }
    )
    return settings.model_copy(update={"aws": aws})


def loopback_credentials(settings: Settings) -> LoopbackCredentials | None:
    """The pair the settings carry (both halves set), if any."""
    key, secret = settings.aws.access_key_id, settings.aws.secret_access_key
    if key and secret is not None and secret.get_secret_value():
        return LoopbackCredentials(access_key_id=key, secret_access_key=secret)
    return None


def with_data_dir_credentials(settings: Settings) -> Settings:
    """`settings`, with the data directory's pair when they carry none (and the file exists).

    Used by every command but `up`: the environment wins, then `<data dir>/local-aws-credentials`.
    The pair is only ever sent to loopback endpoints (`bus.aws`), so it is harmless against AWS.
    """
    if loopback_credentials(settings) is not None:
        return settings
    found = read_credentials(credentials_path(settings.local.data_dir))
    return settings if found is None else with_credentials(settings, found)


def required_credentials(settings: Settings, command: str) -> tuple[LoopbackCredentials, str]:
    """The pair loopback API `command` requires, and the hint its refusals give (where the pair is).

    Raises:
        ConfigError: the settings carry no pair (`clawbus up` always gives its stages one).
    """
    credentials = loopback_credentials(settings)
    path = credentials_path(settings.local.data_dir)
    if credentials is None:
        raise ConfigError(
            f"{command} accepts only requests signed with a key pair of its own and none is set — run "
            "'clawbus up' (it makes one per run), or set CLAWBUS_AWS__ACCESS_KEY_ID and "
            f"CLAWBUS_AWS__SECRET_ACCESS_KEY (or write them to {path})"
        )
    hint = (
        "The loopback APIs of 'clawbus up' accept only the key pair of their run: it is in "
        f"{path} (AWS shared-credentials format; clawbus commands read it there), and its stages get it "
        "as CLAWBUS_AWS__ACCESS_KEY_ID and CLAWBUS_AWS__SECRET_ACCESS_KEY."
    )
    return credentials, hint
