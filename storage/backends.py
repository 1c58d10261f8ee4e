"""Choosing each store's backend from settings (`CLAWBUS_STORAGE__*`), so no stage names a backend class.

Every function takes the process's settings and its already-open AWS clients (`bus.aws.open_clients`);
a backend that needs a client the process did not open is a `ConfigError` naming the setting.
"""

from __future__ import annotations

from pathlib import Path

from clawbus.bus.aws import AwsClients
from clawbus.bus.errors import ConfigError
from clawbus.bus.settings import Settings
from clawbus.bus.topology import sessions_table_name
from clawbus.storage.blobs import BlobStore, LocalBlobStore, S3BlobStore
from clawbus.storage.config import (
    BlobConfigStore,
    ConfigStore,
    SsmConfigStore,
    config_parameter_name,
    seed,
)
from clawbus.storage.secrets import SecretsManagerStore, SecretStore
from clawbus.storage.sessions import DynamoSessionIndex, LocalSessionIndex, SessionIndex


def state_dir(settings: Settings) -> Path:
    """The local backends' root: `CLAWBUS_STORAGE__LOCAL_DIR`, else `<data dir>/state`."""
    return settings.storage.local_dir or settings.local.data_dir / "state"


def _missing(client: str, setting: str) -> ConfigError:
    return ConfigError(f"{setting} needs the {client} client, which this process did not open")


def blob_store(settings: Settings, clients: AwsClients) -> BlobStore:
    """The blob store of `CLAWBUS_STORAGE__BLOBS`: the state bucket (`s3`) or `<local dir>/blobs`."""
    cap = settings.storage.blob_max_bytes
    if settings.storage.blobs == "local":
        return LocalBlobStore(state_dir(settings) / "blobs", max_bytes=cap)
    if clients.s3 is None:
        raise _missing("s3", "CLAWBUS_STORAGE__BLOBS=s3")
    return S3BlobStore(clients.s3, settings.bus.bucket_name(), max_bytes=cap)


def config_store(settings: Settings, clients: AwsClients) -> ConfigStore:
    """The configuration store of `CLAWBUS_STORAGE__CONFIG`: SSM `/<prefix>/config`, or the blob
    `config/openclaw.json` in the state bucket (`s3`) or under the local dir (`local`)."""
    backend = settings.storage.config
    if backend == "local":
        return BlobConfigStore(LocalBlobStore(state_dir(settings) / "blobs"))
    if backend == "s3":
        if clients.s3 is None:
            raise _missing("s3", "CLAWBUS_STORAGE__CONFIG=s3")
        return BlobConfigStore(S3BlobStore(clients.s3, settings.bus.bucket_name()))
    if clients.ssm is None:
        raise _missing("ssm", "CLAWBUS_STORAGE__CONFIG=ssm")
    return SsmConfigStore(clients.ssm, config_parameter_name(settings.bus.prefix))


def session_index(settings: Settings, clients: AwsClients) -> SessionIndex:
    """The session index `CLAWBUS_SESSION__TRANSCRIPTS` implies: `sessions.json` files under
    `CLAWBUS_SESSION__DIR` with `local`, else the `<prefix>-sessions` table (the agent's choice too)."""
    if settings.session.transcripts == "local":
        return LocalSessionIndex(settings.session.dir)
    if clients.dynamodb is None:
        raise _missing("dynamodb", f"CLAWBUS_SESSION__TRANSCRIPTS={settings.session.transcripts}")
    return DynamoSessionIndex(clients.dynamodb, sessions_table_name(settings.bus.prefix))


def secret_store(settings: Settings, clients: AwsClients) -> SecretStore:
    """Secrets Manager, cached for `CLAWBUS_STORAGE__SECRETS_TTL_S`."""
    if clients.secretsmanager is None:
        raise _missing("secretsmanager", "the secret store")
    return SecretsManagerStore(clients.secretsmanager, ttl_s=settings.storage.secrets_ttl_s)


async def seed_config(settings: Settings, store: ConfigStore) -> bool:
    """Store the seed file (`CLAWBUS_STORAGE__CONFIG_SEED`) as the first configuration document; False
    when there is no seed file or a document is stored already (it is never overwritten)."""
    path = settings.storage.config_seed or settings.local.data_dir / "openclaw.json"
    found = await LocalBlobStore(path.parent).get(path.name)
    if found is None:
        return False
    return await seed(store, found.data.decode("utf-8"))
