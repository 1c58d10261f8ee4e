"""The configuration document (OpenClaw's `openclaw.json`, JSON5 text), with versioned writes.

Backends: SSM Parameter Store (`/<prefix>/config`, a SecureString; Advanced tier above 4 KB, refused
above SSM's 8 KB limit), or a blob `config/openclaw.json` (the state bucket, or a local directory) for
bigger documents. The document is kept as text, so comments and trailing commas survive a round trip
untouched; the stages read its keys at start (`openclaw.document_settings`, `openclaw.config`).

No lost update. A blob write is conditional (`If-Match` / `If-None-Match`). SSM has no conditional put,
so every clawbus write records the version it was based on in the version's description
(`clawbus config; based on version N`), and the history decides: a version is *current* when its base is
the current version before it (a version written by anyone else — Terraform, the console — always
counts). Two writers based on the same version both get a new version number, but only the first one
follows its base; the second finds that out from the history right after its put and raises
`VersionConflict`, and every reader skips its version. The first start seeds the document from the
local file (`seed`), only when none is stored (or only Terraform's empty `{}` placeholder).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import ClientError

from clawbus.bus.aws import map_aws_errors
from clawbus.bus.errors import PermanentError, TooLarge, VersionConflict
from clawbus.storage.blobs import BlobStore

if TYPE_CHECKING:
    from types_aiobotocore_ssm import SSMClient

CONFIG_BLOB_KEY = "config/openclaw.json"
STANDARD_MAX_BYTES = 4096
ADVANCED_MAX_BYTES = 8192
_BASE = re.compile(r"^clawbus config; based on version (\d+)$")
_PLACEHOLDER = "{}"  # what the Terraform creates the parameter with


def config_parameter_name(prefix: str) -> str:
    """`/<prefix>/config`: the SSM parameter holding the configuration document."""
    return f"/{prefix}/config"


@dataclass(frozen=True)
class ConfigDocument:
    """The stored document and its version (pass it back as `if_version` to change it)."""

    text: str
    version: str


class ConfigStore(Protocol):
    """One configuration document with optimistic concurrency; reads are safe to retry."""

    async def read(self) -> ConfigDocument | None:
        """The current document, or None when none is stored."""
        ...

    async def write(self, text: str, *, if_version: str | None) -> str:
        """Store `text` if the current version is `if_version` (None: only if none is stored); the new
        version, or `VersionConflict` (re-read, apply the change again), or `TooLarge`."""
        ...


async def seed(store: ConfigStore, text: str) -> bool:
    """Store `text` as the first document; True when it did. A stored document is never replaced (unless
    it is still the Terraform's empty `{}`), and a concurrent seeder's document stands."""
    current = await store.read()
    if current is not None and current.text.strip() != _PLACEHOLDER:
        return False
    try:
        await store.write(text, if_version=None if current is None else current.version)
    except VersionConflict:
        return False
    return True


class BlobConfigStore:
    """The document as the blob `config/openclaw.json` (S3 or a local directory), written conditionally."""

    def __init__(self, blobs: BlobStore, key: str = CONFIG_BLOB_KEY) -> None:
        self._blobs = blobs
        self._key = key

    async def read(self) -> ConfigDocument | None:
        """The document, or None."""
        blob = await self._blobs.get(self._key)
        return None if blob is None else ConfigDocument(blob.data.decode("utf-8"), blob.version)

    async def write(self, text: str, *, if_version: str | None) -> str:
        """See `ConfigStore.write` (`If-Match` / `If-None-Match: *`)."""
        try:
            return await self._blobs.put(
                self._key,
                text.encode("utf-8"),
                content_type="application/json",
                if_match=if_version,
                if_none_match=if_version is None,
            )
        except VersionConflict as exc:
            raise VersionConflict(f"the configuration changed since it was read ({exc}); re-read it") from exc


@dataclass(frozen=True)
class _Version:
    number: int
    text: str
    base: int | None  # None: written by someone other than clawbus (always counts)


def current_version(history: list[_Version], upto: int | None = None) -> _Version | None:
    """The current version among `history` (oldest first) — the last one that follows its base —
    considering only versions up to `upto`. The oldest retained version always counts (SSM keeps 100)."""
    current: _Version | None = None
    for version in history:
        if upto is not None and version.number > upto:
            break
        if current is None or version.base is None or version.base == current.number:
            current = version
    return current


class SsmConfigStore:
    """The document in one SSM parameter, with the history-checked writes described above."""

    def __init__(self, ssm: SSMClient, name: str) -> None:
        self._ssm = ssm
        self._name = name

    async def _history(self) -> list[_Version]:
        versions: list[_Version] = []
        paginator = self._ssm.get_paginator("get_parameter_history")
        with map_aws_errors(f"GetParameterHistory {self._name}"):
            try:
                async for page in paginator.paginate(Name=self._name, WithDecryption=True):
                    versions.extend(_parse(p) for p in page.get("Parameters", []))
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "ParameterNotFound":
                    return []
                raise
        return sorted(versions, key=lambda v: v.number)

    async def read(self) -> ConfigDocument | None:
        """The current document (stray versions of writers that lost a race are skipped), or None."""
        current = current_version(await self._history())
        return None if current is None else ConfigDocument(current.text, str(current.number))

    async def write(self, text: str, *, if_version: str | None) -> str:
        """See `ConfigStore.write`."""
        if if_version is not None and not if_version.isdigit():
            raise VersionConflict(f"{self._name} has no version {if_version!r}; re-read it")
        size = len(text.encode("utf-8"))
        if not text:
            raise PermanentError(f"{self._name}: SSM cannot hold an empty document; store '{{}}' instead")
        if size > ADVANCED_MAX_BYTES:
            raise TooLarge(
                f"the configuration is {size} bytes, over SSM's {ADVANCED_MAX_BYTES}-byte limit; set "
                f"CLAWBUS_STORAGE__CONFIG=s3 to keep it as {CONFIG_BLOB_KEY} in the state bucket"
            )
        kwargs: dict[str, Any] = {
            "Name": self._name,
            "Value": text,
            "Type": "SecureString",
            "Tier": "Advanced" if size > STANDARD_MAX_BYTES else "Intelligent-Tiering",
        }
        if if_version is None:
            kwargs |= {"Overwrite": False, "Description": "clawbus config; based on version 0"}
        else:
            kwargs |= {"Overwrite": True, "Description": f"clawbus config; based on version {if_version}"}
        with map_aws_errors(f"PutParameter {self._name}"):
            try:
                response = await self._ssm.put_parameter(**kwargs)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "ParameterAlreadyExists":
                    raise VersionConflict(
                        f"{self._name} exists already; read it, then write with its version"
                    ) from exc
                raise
        ours = int(response["Version"])
        if if_version is not None:
            winner = current_version(await self._history(), upto=ours)
            if winner is None or winner.number != ours:
                raise VersionConflict(
                    f"{self._name} changed since version {if_version}; re-read it and apply the change again"
                )
        return str(ours)


def _parse(parameter: Any) -> _Version:
    match = _BASE.match(str(parameter.get("Description", "")))
    return _Version(
        int(parameter["Version"]), str(parameter.get("Value", "")), int(match[1]) if match else None
    )
