"""Signed webhook requests as each platform builds them, for load generators, benchmarks and tests.

Each function returns the headers a platform would send with `body`, made with the platform's own
scheme: Slack's v0 HMAC (slack_sdk), Meta's `sha256=` HMAC, Discord's Ed25519 (PyNaCl), Telegram's
secret-token header. Never used on the serving path.
"""

from __future__ import annotations

import hashlib
import hmac

from nacl.signing import SigningKey
from slack_sdk.signature import SignatureVerifier


def telegram_headers(secret: str) -> dict[str, str]:
    """Headers of a Telegram webhook call for a bot whose `setWebhook` secret_token is `secret`."""
    return {"content-type": "application/json", "x-telegram-bot-api-secret-token": secret}


def slack_headers(
    signing_secret: str, body: bytes, timestamp: int, retry_num: int | None = None
) -> dict[str, str]:
    """Headers of a Slack Events API request signed at `timestamp` (Unix seconds)."""
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=str(timestamp), body=body)
    headers = {
        "content-type": "application/json",
        "x-slack-request-timestamp": str(timestamp),
        "x-slack-signature": signature or "",
    }
    if retry_num is not None:
        headers |= {"x-slack-retry-num": str(retry_num), "x-slack-retry-reason": "http_timeout"}
    return headers


def whatsapp_headers(app_secret: str, body: bytes) -> dict[str, str]:
    """Headers of a WhatsApp Cloud API webhook POST (HMAC-SHA256 of the raw body with the app secret)."""
    digest = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return {"content-type": "application/json", "x-hub-signature-256": f"sha256={digest}"}


def discord_headers(signing_key: SigningKey, body: bytes, timestamp: int) -> dict[str, str]:
    """Headers of a Discord interaction request signed by the application's Ed25519 key."""
    signed = signing_key.sign(str(timestamp).encode() + body)
    return {
        "content-type": "application/json",
        "x-signature-ed25519": signed.signature.hex(),
        "x-signature-timestamp": str(timestamp),
    }
