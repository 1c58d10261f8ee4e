"""Who may talk to the embedded default's loopback APIs: whoever signs with this run's key pair.

The loopback AWS API (moto) holds every store, channel tokens included, and the loopback AgentCore
endpoint runs the agent; both listen on 127.0.0.1, where every local process and every web page the user
opens can reach them. So they check what AWS checks: each request carries a Signature Version 4
`Authorization` header for the one access key `clawbus up` generated (`LoopbackCredentials`), the
signature recomputed here over the request as received matches, and `X-Amz-Date` is within 15 minutes
of now. Anything else is refused with an AWS-style 403 the SDKs parse (`refusal`).

The signature is recomputed with botocore's own signer (`SigV4Auth`, `S3SigV4Auth` for S3): the code
that signed the request on the client side, so the two cannot drift. moto's own request authentication
(`INITIAL_NO_AUTH_ACTION_COUNT`, moto/core/authorization.py in 5.2.5) was not used: it accepts only
access keys of IAM users created inside moto (random ones, lost with a state file that does not keep
IAM), checks only the actions that go through its dispatcher (not `/moto-api/*`, whose `reset-auth`
turns it off for anyone who asks), and would also evaluate IAM policies we would have to write.

Side doors (moto's `/moto-api/*`, the AgentCore endpoint's fault injection) are not AWS APIs; they take
the secret access key as a bearer token instead (`bearer_matches`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from xml.sax.saxutils import escape

from pydantic import BaseModel, ConfigDict, SecretStr

from clawbus.bus.errors import Unauthorized

MAX_SKEW = timedelta(minutes=15)  # AWS's own limit on a signature's age (and on clock skew)
_KEY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<key>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[^/,\s]+)/"
    r"(?P<service>[^/,\s]+)/aws4_request,\s*SignedHeaders=(?P<signed>[^,\s]+),\s*"
    r"Signature=(?P<signature>[0-9a-f]{64})"
)
# Services whose SDK clients read errors as XML (query and rest-xml protocols); the rest read JSON.
_XML_SERVICES = frozenset({"s3", "sns", "sts", "iam", "ec2", "cloudformation", "elasticloadbalancing"})


class LoopbackCredentials(BaseModel):
    """The key pair of one `clawbus up` run: the only one its loopback APIs accept."""

    model_config = ConfigDict(frozen=True)

    access_key_id: str
    secret_access_key: SecretStr

    @classmethod
    def generate(cls) -> LoopbackCredentials:
        """A new random pair, shaped like AWS's (a 20-character key id, a 40-character secret)."""
        key = "AKIACLAW" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(12))
        return cls(access_key_id=key, secret_access_key=SecretStr(secrets.token_urlsafe(30)))


@dataclass(frozen=True)
class ReceivedRequest:
    """A request as it arrived: `raw_path` and `query` exactly as sent (still percent-encoded)."""

    method: str
    raw_path: str
    query: str
    headers: Mapping[str, str]  # lower-case names
    body: bytes


class SignatureRefused(Unauthorized):
    """A request not signed with the loopback credentials; `code` is the AWS error code to answer."""

    def __init__(self, code: str, message: str, service: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.service = service


def bearer_matches(authorization: str | None, secret: SecretStr) -> bool:
    """Whether an `Authorization` header is `Bearer <secret>` (compared in constant time)."""
    scheme, _, value = (authorization or "").partition(" ")
    expected = secret.get_secret_value().encode()
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), expected)


def check_signature(request: ReceivedRequest, credentials: LoopbackCredentials, now: datetime) -> None:
    """Return if `request` carries a valid, fresh SigV4 signature by `credentials`; else raise.

    Raises:
        SignatureRefused: unsigned, another access key, a signature that does not match, a body that
            is not the one signed, or an `X-Amz-Date` more than 15 minutes from `now`.
    """
    header = request.headers.get("authorization")
    if not header:
        raise SignatureRefused("MissingAuthenticationToken", "the request is not signed")
    found = _AUTHORIZATION.fullmatch(header.strip())
    if found is None:
        raise SignatureRefused(
            "IncompleteSignature", "the Authorization header is not an AWS SigV4 signature"
        )
    service = found["service"]
    if not hmac.compare_digest(found["key"].encode(), credentials.access_key_id.encode()):
        raise SignatureRefused(
            "InvalidClientTokenId", "the request is signed with another access key", service
        )
    signed = found["signed"].split(";")
    missing = [name for name in signed if name not in request.headers]
    if "host" not in signed or "x-amz-date" not in signed or missing:
        raise SignatureRefused(
            "IncompleteSignature", "the signature must cover Host and X-Amz-Date, as sent", service
        )
    _check_date(request.headers["x-amz-date"], found["date"], now, service)
    _check_body(request, service)
    expected = _signature_of(request, credentials, service, found["region"], signed)
    if not hmac.compare_digest(expected.encode(), found["signature"].encode()):
        raise SignatureRefused("SignatureDoesNotMatch", "the signature does not match the request", service)


def _signature_of(
    request: ReceivedRequest, credentials: LoopbackCredentials, service: str, region: str, signed: list[str]
) -> str:
    """The signature `credentials` give `request` over the `signed` headers, as the client computed it."""
    # botocore's signer loads here, not with the module: `clawbus say` and the stages read the key pair
    # (`LoopbackCredentials`) without ever checking a signature
    from botocore.auth import S3SigV4Auth, SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    signer_class = S3SigV4Auth if service == "s3" else SigV4Auth
    signer = signer_class(
        Credentials(credentials.access_key_id, credentials.secret_access_key.get_secret_value()),
        service,
        region,
    )
    query = f"?{request.query}" if request.query else ""
    rebuilt = AWSRequest(
        method=request.method,
        url=f"http://{request.headers['host']}{request.raw_path}{query}",
        headers={name: request.headers[name] for name in signed},
        data=request.body,
    )
    rebuilt.context["timestamp"] = request.headers["x-amz-date"]
    return signer.signature(signer.string_to_sign(rebuilt, signer.canonical_request(rebuilt)), rebuilt)


def _check_date(amz_date: str, scope_date: str, now: datetime, service: str) -> None:
    try:
        signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError as exc:
        raise SignatureRefused("IncompleteSignature", "X-Amz-Date is not a date", service) from exc
    if amz_date[:8] != scope_date:
        raise SignatureRefused(
            "SignatureDoesNotMatch", "X-Amz-Date is not the credential scope's day", service
        )
    if abs(now - signed_at) > MAX_SKEW:
        raise SignatureRefused("RequestExpired", f"the signature was made at {amz_date}, not now", service)


def _check_body(request: ReceivedRequest, service: str) -> None:
    """S3 signs the body's hash as a header; that hash must be the body's (other services hash it in)."""
    claimed = request.headers.get("x-amz-content-sha256", "")
    if re.fullmatch(r"[0-9a-f]{64}", claimed) and claimed != hashlib.sha256(request.body).hexdigest():
        raise SignatureRefused(
            "XAmzContentSHA256Mismatch", "the body is not the one that was signed", service
        )


def refusal(
    exc: SignatureRefused, headers: Mapping[str, str], hint: str, service: str | None = None
) -> tuple[dict[str, str], bytes]:
    """The 403's headers and body for `exc`, in the protocol the caller's SDK parses, with `hint`.

    JSON (`__type`, `message`, and `x-amzn-ErrorType`) for JSON and rest-json services, XML
    (`<ErrorResponse><Error>`) for query and rest-xml ones (SNS, S3). The service is the one the
    signature names, else `service` (an endpoint of one service), else guessed from the headers.
    """
    message = f"{exc}. {hint}".strip()
    service = exc.service or service
    as_json = (
        service not in _XML_SERVICES
        if service
        else "x-amz-target" in headers or "json" in headers.get("content-type", "")
    )
    if as_json:
        body = json.dumps({"__type": exc.code, "message": message}).encode()
        return {"content-type": "application/json", "x-amzn-ErrorType": exc.code}, body
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse><Error><Type>Sender</Type>'
        f"<Code>{exc.code}</Code><Message>{escape(message)}</Message></Error>"
        f"<RequestId>{secrets.token_hex(16)}</RequestId></ErrorResponse>"
    )
    return {"content-type": "text/xml"}, xml.encode()
