"""Offloading large message bodies to S3 and resolving them back (the claim-check pattern).

`offload` returns the body unchanged when it fits, else stores it as the blob `claim-check/<sha256>.json`
in the state bucket (a `BlobStore`) and returns a small pointer envelope; storing is idempotent (same
body, same key). `resolve` is the inverse and a no-op for ordinary bodies.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from clawbus.bus.errors import InvalidEnvelope
from clawbus.schemas.claim_check import ClaimCheck, ClaimCheckRef, read_claim_check
from clawbus.storage.blobs import BlobStore, S3BlobStore

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

PREFIX = "claim-check/"


class ClaimChecks:
    """Offloads and resolves bodies in one bucket."""

    def __init__(
        self, s3: S3Client, bucket: str, threshold_bytes: int, *, blobs: BlobStore | None = None
    ) -> None:
        """`blobs` is where `bucket`'s blobs are (`storage.backends.blob_store`; default: S3 itself)."""
        self._s3 = s3
        self._bucket = bucket
        self._blobs = blobs or S3BlobStore(s3, bucket)
        self._threshold = threshold_bytes

    def _store(self, bucket: str) -> BlobStore:
        return self._blobs if bucket == self._bucket else S3BlobStore(self._s3, bucket)

    async def offload(self, body: str) -> str:
        """`body` itself when under the threshold, else a claim-check envelope pointing at S3."""
        data = body.encode("utf-8")
        if len(data) <= self._threshold:
            return body
        key = f"{PREFIX}{hashlib.sha256(data).hexdigest()}.json"
        await self._blobs.put(key, data, content_type="application/json")
        ref = ClaimCheckRef(bucket=self._bucket, key=key, size=len(data))
        return ClaimCheck(clawbus_claim_check=ref).to_wire()

    async def resolve(self, body: str) -> str:
        """The real body of a claim-check envelope; any other body unchanged.

        Raises `InvalidEnvelope` when the object is gone (it cannot come back), else a classified error.
        """
        ref = read_claim_check(body)
        if ref is None:
            return body
        blob = await self._store(ref.bucket).get(ref.key)
        if blob is None:
            raise InvalidEnvelope(f"claim-checked body {ref.key} is gone from {ref.bucket}")
        return blob.data.decode("utf-8")
