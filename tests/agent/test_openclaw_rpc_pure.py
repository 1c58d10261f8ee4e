"""The pure parts of the OpenClaw engine's WebSocket turns and steering: the signed handshake, what a
`chat` event means for its run, and which steers a run took (issue 21)."""

from __future__ import annotations

import base64
import hashlib

import pytest
from nacl.signing import SigningKey, VerifyKey

from clawbus.agent.engines.openclaw.rpc import connect_params, refusal, run_outcome
from clawbus.agent.engines.openclaw.steered_turn import injected
from clawbus.bus.errors import PermanentError, Unavailable


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_the_connect_request_signs_the_challenge_with_a_device_key_the_gateway_can_check() -> None:
    key = SigningKey.generate()
    params = connect_params(key, "tok", "nonce-1", 1796477562242)
    device = params["device"]
    public = _unb64url(device["publicKey"])
    # OpenClaw's checks: the id is the key's SHA-256, the signature covers the v3 payload with the nonce
    assert device["id"] == hashlib.sha256(public).hexdigest()
    payload = f"v3|{device['id']}|gateway-client|backend|operator|operator.admin,operator.read,operator.write"
    payload += "|1796477562242|tok|nonce-1|linux|"
    VerifyKey(public).verify(payload.encode(), _unb64url(device["signature"]))
    assert (device["nonce"], device["signedAt"], params["auth"]) == (
        "nonce-1",
        1796477562242,
        {"token": "tok"},
    )


def test_a_run_ends_with_its_answer_or_a_classified_error() -> None:
    text = {"role": "assistant", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}
    assert run_outcome({"state": "delta", "deltaText": "a"}) is None
    assert run_outcome({"state": "final", "message": text}) == "ab"
    assert run_outcome({"state": "final"}) == ""  # a silent run
    assert isinstance(run_outcome({"state": "error", "errorMessage": "boom"}), Unavailable)
    assert isinstance(run_outcome({"state": "error", "errorKind": "context_length"}), PermanentError)
    assert isinstance(run_outcome({"state": "aborted"}), Unavailable)


@pytest.mark.parametrize(("retryable", "kind"), [(True, Unavailable), (False, PermanentError)])
def test_a_refused_request_is_retryable_only_when_the_gateway_says_so(retryable: bool, kind: type) -> None:
    error = refusal({"code": "X", "message": "no", "retryable": retryable}, "chat.send")
    assert isinstance(error, kind)
    assert "chat.send" in str(error)


def _user(steer_run: str) -> dict[str, object]:
    return {"role": "user", "content": "m", "idempotencyKey": f"{steer_run}:user"}


def _answer(run_id: str) -> dict[str, object]:
    return {"role": "assistant", "content": [], "__openclaw": {"runId": run_id}}


def test_only_a_steer_the_run_answered_after_it_counts_as_taken() -> None:
    sent = {"r-steer-1": "ev-1", "r-steer-2": "ev-2", "r-steer-3": "ev-3"}
    history = [
        _user("r"),
        _user("r-steer-1"),
        _answer("r"),  # the run answered after steer 1: taken
        _user("r-steer-2"),
        _answer("r-steer-2"),  # steer 2 became a run of its own: not taken
        # steer 3 never reached the transcript: not taken
    ]
    assert injected(history, "r", sent) == ("ev-1",)
    assert injected([], "r", sent) == ()
