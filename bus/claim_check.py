"""Offloading large message bodies to S3 and resolving them back (the claim-check pattern).

`offload` returns the body unchanged when it fits, else stores it under `claim-check/<sha256>` and
returns a small pointer envelope; storing is idempotent (same body, same key). `resolve` is the inverse
and a no-op for ordinary bodies.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from clawbus.schemas.claim_check import ClaimCheck, ClaimCheckRef, read_claim_check

from .aws import classify_client_error
from .errors import InvalidEnvelope, TargetGone

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

PREFIX = "claim-check/"


class ClaimChecks:
    """Offloads and resolves bodies in one bucket."""

    def __init__(self, s3: S3Client, bucket: str, threshold_bytes: int) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._threshold = threshold_bytes

    async def offload(self, body: str) -> str:
        """`body` itself when under the threshold, else a claim-check envelope pointing at S3."""
        data = body.encode("utf-8")
        if len(data) <= self._threshold:
            return body
        key = f"{PREFIX}{hashlib.sha256(data).hexdigest()}.json"
        try:
            await self._s3.put_object(Bucket=self._bucket, Key=key, Body=data, ContentType="application/json")
        except ClientError as exc:
            raise classify_client_error(exc, f"PutObject {self._bucket}/{key}") from exc
        ref = ClaimCheckRef(bucket=self._bucket, key=key, size=len(data))
        return ClaimCheck(clawbus_claim_check=ref).to_wire()

    async def resolve(self, body: str) -> str:
        """The real body of a claim-check envelope; any other body unchanged."""
        ref = read_claim_check(body)
        if ref is None:
            return body
        try:
            response = await self._s3.get_object(Bucket=ref.bucket, Key=ref.key)
            async with response["Body"] as stream:
                data = await stream.read()
        except ClientError as exc:
            error = classify_client_error(exc, f"GetObject {ref.bucket}/{ref.key}")
            if isinstance(error, TargetGone):
                raise InvalidEnvelope(f"claim-checked body {ref.key} is gone from {ref.bucket}") from exc
            raise error from exc
        return data.decode("utf-8")
