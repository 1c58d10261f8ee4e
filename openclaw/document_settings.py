"""A stage's settings: the environment over the stored configuration document over the defaults.

Each long-running stage process (and each Lambda container) calls `load_settings` once at start. It reads
the document through the config store the environment chooses (`CLAWBUS_STORAGE__CONFIG`), maps the
OpenClaw keys clawbus understands (`openclaw.config`) and builds `Settings` with them. Nothing is
read again: a changed document takes effect when the stage restarts. No stored document means no
overrides; a store that cannot be reached, or a document with a bad value, is a `ConfigError` at start
(bounded by the AWS client timeouts), never a surprise in the middle of a turn.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from pydantic import ValidationError

from clawbus.bus.clients import ConfigClients, open_stage_clients
from clawbus.bus.errors import ClawbusError, ConfigError
from clawbus.bus.logging import log_event
from clawbus.bus.settings import Settings
from clawbus.openclaw.config import MappedDocument, map_document, parse_document
from clawbus.storage.backends import config_store, state_dir
from clawbus.storage.config import CONFIG_BLOB_KEY, ConfigDocument, config_parameter_name

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedSettings:
    """The settings a process runs with, and the document they were built from (None: none stored)."""

    settings: Settings
    document: MappedDocument | None = None
    version: str | None = None


def store_location(settings: Settings) -> str:
    """Where the configuration document lives, for messages (`SSM parameter /clawbus/config`)."""
    backend = settings.storage.config
    if backend == "ssm":
        return f"SSM parameter {config_parameter_name(settings.bus.prefix)}"
    if backend == "s3":
        return f"s3://{settings.bus.bucket_name()}/{CONFIG_BLOB_KEY}"
    return str(state_dir(settings) / "blobs" / CONFIG_BLOB_KEY)


async def read_document(settings: Settings) -> ConfigDocument | None:
    """The stored document, or None when none is stored.

    Raises:
        ConfigError: the store cannot be reached or read in time (names the store and what to check).
    """
    where = store_location(settings)
    budget = settings.aws.connect_timeout_s + settings.aws.read_timeout_s
    try:
        async with asyncio.timeout(budget), open_stage_clients(settings, ConfigClients) as clients:
            return await config_store(settings, clients).read()
    except TimeoutError as exc:
        raise ConfigError(
            f"reading the configuration document ({where}) took over {budget:.0f} s — check "
            "CLAWBUS_AWS__ENDPOINT_URL and the network"
        ) from exc
    except ConfigError:
        raise
    except ClawbusError as exc:
        raise ConfigError(
            f"cannot read the configuration document ({where}): {exc} — check CLAWBUS_AWS__ENDPOINT_URL "
            "and credentials, or choose another store with CLAWBUS_STORAGE__CONFIG"
        ) from exc


def settings_from(env: Settings, stored: ConfigDocument | None) -> LoadedSettings:
    """`Settings` from the environment over the stored document's keys over the defaults.

    Raises:
        ConfigError: the document is not JSON5, or a key it sets has a value clawbus cannot use.
    """
    if stored is None:
        log_event(logger, "config.document.absent")
        return LoadedSettings(env)
    mapped = map_document(parse_document(stored.text))
    try:
        settings = Settings.with_document(mapped.values)
    except ValidationError as exc:  # the document's values were checked; this is the environment's
        error = exc.errors()[0]
        path = "__".join(str(part) for part in error["loc"]).upper()
        raise ConfigError(f"invalid setting CLAWBUS_{path}: {error['msg']}") from exc
    log_event(
        logger,
        "config.document.loaded",
        version=stored.version,
        keys=sorted(set(mapped.origins.values())),
    )
    if mapped.unsupported:
        log_event(logger, "config.document.unsupported", logging.WARNING, keys=list(mapped.unsupported))
    if mapped.ignored:
        log_event(logger, "config.document.ignored", logging.DEBUG, keys=list(mapped.ignored))
    return LoadedSettings(settings, mapped, stored.version)


async def load_settings_async(env: Settings) -> LoadedSettings:
    """Read the document the environment's settings point at and build the process's settings."""
    return settings_from(env, await read_document(env))


def load_settings(env: Settings | None = None) -> LoadedSettings:
    """`load_settings_async` for a process's synchronous start (`main`, a Lambda's first invocation)."""
    return asyncio.run(load_settings_async(env or Settings()))
