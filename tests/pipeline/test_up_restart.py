"""`clawbus up` stopped mid-traffic and started again: nothing said is lost, nothing answered twice."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.helpers import free_port, start_up, wait_for

# Turns take a second each (the stub agent), one at a time per conversation, so a stop soon after the
# first reply leaves notes unanswered: their replies wait on the egress queue (egress stops before the
# dispatcher has drained its turns) and are delivered by the next run.
SLOW_TURNS = {"CLAWBUS_AGENTCORE__STUB_LATENCY_S": "1", "CLAWBUS_DISPATCHER__QUEUE__MODE": "followup"}


class Up:
    """`clawbus up` as a user runs it, on fixed ports and one data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.ports = {name: free_port() for name in ("ingress", "agent", "agentcore", "aws")}
        self.url = f"http://127.0.0.1:{self.ports['ingress']}"

    def start(self, *flags: str) -> tuple[subprocess.Popen[str], str]:
        return start_up(self.data_dir, self.ports, *flags, env={**os.environ, **SLOW_TURNS})

    def client(self) -> httpx.Client:
        """A WebChat client holding the token `clawbus up` keeps in the data dir."""
        token = (self.data_dir / "webchat-token").read_text().strip()
        return httpx.Client(base_url=self.url, timeout=10, headers={"Authorization": f"Bearer {token}"})

    @staticmethod
    def stop(up: subprocess.Popen[str]) -> str:
        up.send_signal(signal.SIGTERM)
        rest, _ = up.communicate(timeout=90)
        assert up.returncode == 0, rest
        return rest


def _replies(client: httpx.Client, conversation: str) -> list[dict[str, object]]:
    response = client.get(f"/webchat/api/conversations/{conversation}/messages")
    assert response.status_code == 200, response.text
    return list(response.json()["messages"])


@pytest.mark.slow  # ~60 s; the default suite's short form: chaos/test_crashes.py's rolling restart under load
def test_a_restart_mid_traffic_answers_every_message_once_in_order(tmp_path: Path) -> None:
    pipeline = Up(tmp_path / "data")
    up, banner = pipeline.start()
    state_file = tmp_path / "data" / "aws-state.pickle"
    try:
        assert f"{state_file} (new;" in banner  # where the data lives, and that it starts empty
        texts = [f"note {i}" for i in range(6)]
        with pipeline.client() as client:
            sent = []
            for text in texts:
                response = client.post("/webchat/api/messages", json={"conversation": "c1", "text": text})
                assert response.status_code == 202, response.text
                sent.append(response.json()["event_id"])
            answered_before = wait_for(lambda: _replies(client, "c1"), timeout=30, what="a first reply")
    except BaseException:
        up.kill()
        raise
    stopped = Up.stop(up)  # mid-traffic: some notes are still waiting for their turn
    assert "stopping" in stopped
    assert state_file.exists()
    sends_log = tmp_path / "data" / "logs" / "egress-webchat.log"
    first_run_sends = sends_log.read_text().count('"egress.send.completed"')

    token = (tmp_path / "data" / "webchat-token").read_text()
    up, banner = pipeline.start()
    try:
        assert f"{state_file} (restored;" in banner
        assert "(0600, kept from before;" in banner  # the same token: open browsers stay signed in
        assert (tmp_path / "data" / "webchat-token").read_text() == token
        with pipeline.client() as client:

            def all_answered() -> list[dict[str, object]] | None:
                replies = _replies(client, "c1")
                return replies if len(replies) >= len(texts) else None

            replies = wait_for(all_answered, timeout=40, what="every note answered")
            second_run_sends = sends_log.read_text().count('"egress.send.completed"') - first_run_sends
            assert second_run_sends >= 1, "the stop came too late to leave a note unanswered"
            assert [r["text"] for r in replies] == [f"(stub agent) {text}" for text in texts]
            assert [r["in_reply_to"] for r in replies] == [[event] for event in sent]
            assert replies[: len(answered_before)] == answered_before  # the history before the stop
            later = client.get(
                "/webchat/api/conversations/c1/messages", params={"after": replies[-1]["seq"], "wait": 2}
            )
            assert later.json()["messages"] == []  # and no note answered a second time
    finally:
        Up.stop(up)


def test_up_fresh_starts_empty_and_keeps_the_old_state_aside(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "aws-state.pickle").write_bytes(b"yesterday's state")
    pipeline = Up(data)
    up, banner = pipeline.start("--fresh")
    try:
        [kept] = data.glob("aws-state.pickle.before-fresh-*")
        assert kept.read_bytes() == b"yesterday's state"
        assert f"the saved state is kept as {kept}" in banner
        assert f"{data / 'aws-state.pickle'} (new;" in banner
        assert "could not be restored" not in banner
    finally:
        Up.stop(up)
    assert (data / "aws-state.pickle").exists()  # this run's own state, saved at stop
