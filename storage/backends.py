"""Choosing each store's backend from settings (`CLAWBUS_STORAGE__*`), so no stage names a backend class.

Every function takes the process's settings and its already-open AWS clients: any bundle of
`bus.clients` with the client the store needs (the narrow Protocols below), so a caller that did not
open it is a type error, not a run-time surprise. The record stores under the stages' ledgers are made
here too (`record_store`): stores are built only by the storage layer (tests/test_layers.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

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
from clawbus.storage.idempotency_dynamodb import DynamoIdempotencyStore
from clawbus.storage.media import MediaStore
from clawbus.storage.reads_dynamodb import SharedReads
from clawbus.storage.records import RecordStore
from clawbus.storage.records_dynamodb import DynamoRecordStore
from clawbus.storage.secrets import SecretsManagerStore, SecretStore
from clawbus.storage.sessions import DynamoSessionIndex, LocalSessionIndex, SessionIndex

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_s3 import S3Client
    from types_aiobotocore_secretsmanager import SecretsManagerClient
    from types_aiobotocore_ssm import SSMClient


class WithS3(Protocol):
    """A client bundle holding S3 (`bus.clients.DispatcherClients`, `EgressClients`, …)."""

    @property
    def s3(self) -> S3Client: ...


class WithDynamoDB(Protocol):
    """A client bundle holding DynamoDB."""

    @property
    def dynamodb(self) -> DynamoDBClient: ...


class WithConfigStores(Protocol):
    """A client bundle holding both configuration backends (`bus.clients.ConfigClients`)."""

    @property
    def ssm(self) -> SSMClient: ...

    @property
    def s3(self) -> S3Client: ...


class WithSecretsManager(Protocol):
    """A client bundle holding Secrets Manager."""

    @property
    def secretsmanager(self) -> SecretsManagerClient: ...


def state_dir(settings: Settings) -> Path:
    """The local backends' root: `CLAWBUS_STORAGE__LOCAL_DIR`, else `<data dir>/state`."""
    return settings.storage.local_dir or settings.local.data_dir / "state"


def record_store(
    dynamodb: DynamoDBClient, table: str, *, ttl_attribute: str | None = None, range_key: str | None = None
) -> RecordStore:
    """The DynamoDB record store of `table` (the ledgers', pairing's and the firer's records)."""
    return DynamoRecordStore(dynamodb, table, ttl_attribute=ttl_attribute, range_key=range_key)


def idempotency_store(
    dynamodb: DynamoDBClient, table: str, reads: SharedReads | None = None
) -> DynamoIdempotencyStore:
    """The idempotency records of `table` (the `<prefix>-ledger` table): the dedup, turn and sent ledgers;
    read through `reads` when given (`shared_reads`)."""
    return DynamoIdempotencyStore(dynamodb, table, reads)


def shared_reads(dynamodb: DynamoDBClient) -> SharedReads:
    """One `BatchGetItem` batcher for the stores a process builds with it (`reads_dynamodb.py`): reads of
    the ledger and of the session index asked together share one request."""
    return SharedReads(dynamodb)


def blob_store(settings: Settings, clients: WithS3) -> BlobStore:
    """The blob store of `CLAWBUS_STORAGE__BLOBS`: the state bucket (`s3`) or `<local dir>/blobs`."""
    cap = settings.storage.blob_max_bytes
    if settings.storage.blobs == "local":
        return LocalBlobStore(state_dir(settings) / "blobs", max_bytes=cap)
    return S3BlobStore(clients.s3, settings.bus.bucket_name(), max_bytes=cap)


def config_store(settings: Settings, clients: WithConfigStores) -> ConfigStore:
    """The configuration store of `CLAWBUS_STORAGE__CONFIG`: SSM `/<prefix>/config`, or the blob
    `config/openclaw.json` in the state bucket (`s3`) or under the local dir (`local`)."""
    backend = settings.storage.config
    if backend == "local":
        return BlobConfigStore(LocalBlobStore(state_dir(settings) / "blobs"))
    if backend == "s3":
        return BlobConfigStore(S3BlobStore(clients.s3, settings.bus.bucket_name()))
    return SsmConfigStore(clients.ssm, config_parameter_name(settings.bus.prefix))


def session_index(
    settings: Settings, clients: WithDynamoDB, reads: SharedReads | None = None
) -> SessionIndex:
    """The session index `CLAWBUS_SESSION__TRANSCRIPTS` implies: `sessions.json` files under
    `CLAWBUS_SESSION__DIR` with `local`, else the `<prefix>-sessions` table (the agent's choice too),
    read through `reads` when given."""
    if settings.session.transcripts == "local":
        return LocalSessionIndex(settings.session.dir)
    return DynamoSessionIndex(clients.dynamodb, sessions_table_name(settings.bus.prefix), reads)


def secret_store(settings: Settings, clients: WithSecretsManager) -> SecretStore:
    """Secrets Manager, cached for `CLAWBUS_STORAGE__SECRETS_TTL_S`."""
    return SecretsManagerStore(clients.secretsmanager, ttl_s=settings.storage.secrets_ttl_s)


async def seed_config(settings: Settings, store: ConfigStore) -> bool:
    """Store the seed file (`CLAWBUS_STORAGE__CONFIG_SEED`) as the first configuration document; False
    when there is no seed file or a document is stored already (it is never overwritten)."""
    path = settings.storage.config_seed or settings.local.data_dir / "openclaw.json"
    found = await LocalBlobStore(path.parent).get(path.name)
    if found is None:
        return False
    return await seed(store, found.data.decode("utf-8"))


def media_store(settings: Settings, clients: WithS3) -> MediaStore:
    """Inbound media (issue 20) on the state bucket's blob store (`blob_store`)."""
    return MediaStore(blob_store(settings, clients))
