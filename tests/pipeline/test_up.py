"""`clawbus up` and `clawbus say`, as a user runs them."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import psutil

from clawbus.bus.aws import boto3_client
from clawbus.bus.settings import AwsSettings
from clawbus.local.credentials import credentials_path, read_credentials
from tests.conftest import REGION, Bus
from tests.helpers import free_port, stage, stage_supervisor, start_up, wait_for


def clawbus(*args: str) -> list[str]:
    return [sys.executable, "-m", "clawbus.cli", *args]


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def words_of(process: psutil.Process) -> list[str]:
    """A process's command line as words, whether its argv or the title a forked stage sets."""
    return " ".join(process.cmdline()).split()


def test_up_answers_say_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    ports = {name: free_port() for name in ("ingress", "agent", "agentcore", "aws")}
    (tmp_path / "openclaw.json").write_text("{ agents: { defaults: {} } }  // mine\n")
    up, shown = start_up(tmp_path, ports)
    try:
        assert f"http://127.0.0.1:{ports['ingress']}/" in shown  # tells the user where WebChat is
        assert str(tmp_path / "logs") in shown
        children = psutil.Process(up.pid).children(recursive=True)
        # moto, agent, AgentCore endpoint, dispatcher, egress, ingress, schedule firer; and the stage
        # forker the second wave was forked from (it stays, for a stage the watchdog restarts)
        assert len(children) == 8
        titles = sorted(" ".join(words_of(child)).split("-m ")[-1] for child in children)
        assert titles == [
            "clawbus.cli agent",
            "clawbus.cli dispatcher",
            "clawbus.cli egress webchat",
            "clawbus.cli ingress",
            "clawbus.cli local-agentcore",
            f"clawbus.cli local-aws --host 127.0.0.1 --port {ports['aws']} --state-file "
            f"{tmp_path / 'aws-state.pickle'}",
            "clawbus.cli scheduler",
            "clawbus.cli.stage_forker",
        ]  # each stage shows in ps as the `clawbus <stage>` it is, forked or spawned
        assert "clawbus-heartbeat-main" in shown  # the heartbeat schedule exists from the start
        assert "seeded from its local file" in shown  # the data dir's openclaw.json is the stored config
        pair = read_credentials(credentials_path(tmp_path))  # the run's key pair, where `up` left it
        assert pair is not None
        aws = AwsSettings(
            endpoint_url=f"http://127.0.0.1:{ports['aws']}",
            region=REGION,
            access_key_id=pair.access_key_id,
            secret_access_key=pair.secret_access_key,
        )
        stored = boto3_client(aws, "ssm").get_parameter(Name="/clawbus/config", WithDecryption=True)
        assert stored["Parameter"]["Value"] == "{ agents: { defaults: {} } }  // mine\n"

        # The ops commands find this run's non-default ports from its data dir alone (endpoints.json).
        ops_env = {k: v for k, v in os.environ.items() if not k.startswith(("CLAWBUS_", "AWS_"))}
        status = subprocess.run(
            clawbus("status", "--json"),
            env={**ops_env, "CLAWBUS_LOCAL__DATA_DIR": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert status.returncode == 0, status.stderr
        assert status.stdout
        assert f"127.0.0.1:{ports['aws']}" in status.stdout

        said = subprocess.run(
            clawbus(
                "say",
                "hello bus",
                "--url",
                f"http://127.0.0.1:{ports['ingress']}",
                "--timeout",
                "30",
                "--data-dir",
                str(tmp_path),
            ),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert said.returncode == 0, said.stderr
        assert said.stdout.strip() == "(native · offline echo · turn 1) You said: hello bus"

        # WebChat is the owner's: the banner's URL carries the data dir's token (a 0600 file); without it,
        # `say` is refused and told where the token lives.
        token_file = tmp_path / "webchat-token"
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        assert f"http://127.0.0.1:{ports['ingress']}/#token={token_file.read_text().strip()}" in shown
        assert f"{token_file} (0600, made now;" in shown
        stranger = subprocess.run(
            clawbus(
                "say",
                "let me in",
                "--url",
                f"http://127.0.0.1:{ports['ingress']}",
                "--data-dir",
                str(tmp_path / "elsewhere"),
            ),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert stranger.returncode == 2
        assert "HTTP 401" in stranger.stderr
        assert str(tmp_path / "elsewhere" / "webchat-token") in stranger.stderr

        # A stage that dies is restarted, as ECS would: kill -9 the dispatcher, and `say` still works.
        dispatcher = next(c for c in children if "dispatcher" in words_of(c))
        dispatcher.kill()

        def restarted() -> bool:
            for child in psutil.Process(up.pid).children(recursive=True):
                try:
                    if child.pid != dispatcher.pid and "dispatcher" in words_of(child):
                        return True
                except psutil.Error:  # the killed one, a zombie until the supervisor reaps it
                    continue
            return False

        wait_for(restarted, timeout=30, what="the dispatcher restarted")
        # The killed dispatcher's last long poll may still be open inside the AWS API (as on SQS, a receive
        # whose caller died can still take a message, which then waits out its visibility timeout); it
        # ends within the poll's wait time (CLAWBUS_DISPATCHER__WAIT_TIME_S, 2 s).
        time.sleep(3)
        again = subprocess.run(
            clawbus(
                "say",
                "still there?",
                "--url",
                f"http://127.0.0.1:{ports['ingress']}",
                "--timeout",
                "40",
                "--data-dir",
                str(tmp_path),
            ),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert again.returncode == 0, again.stderr
        assert again.stdout.strip() == "(native · offline echo · turn 2) You said: still there?"
        children = psutil.Process(up.pid).children(recursive=True)
    finally:
        up.send_signal(signal.SIGTERM)
        rest, _ = up.communicate(timeout=60)
    assert up.returncode == 0, shown + rest
    assert "dispatcher exited (-9)" in rest
    assert "dispatcher restarted" in rest
    assert "stopping" in rest
    assert not any(child.is_running() and child.status() != psutil.STATUS_ZOMBIE for child in children)
    assert wait_for(lambda: all(port_is_free(p) for p in ports.values()), timeout=5, what="ports released")


def test_up_with_a_port_taken_says_which_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        result = subprocess.run(
            clawbus(
                "up",
                "--data-dir",
                str(tmp_path),
                "--ingress-port",
                str(taken),
                "--aws-port",
                str(free_port()),
            ),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"port {taken}" in lines[0]
    assert "--ingress-port" in lines[0]
    assert "Traceback" not in result.stdout + result.stderr


def test_say_without_a_running_pipeline_says_what_to_do() -> None:
    result = subprocess.run(
        clawbus("say", "anyone?", "--url", f"http://127.0.0.1:{free_port()}", "--timeout", "2"),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "is 'clawbus up' running?" in result.stderr
    assert "Traceback" not in result.stderr


def test_say_with_nobody_answering_exits_1_and_says_what_was_accepted(bus: Bus, tmp_path: Path) -> None:
    port = free_port()
    token = {"CLAWBUS_WEBCHAT__TOKEN": "say-test-token-0123456789abcdefghij"}
    supervisor = stage_supervisor(tmp_path / "logs", {**bus.env, **token, "CLAWBUS_INGRESS__PORT": str(port)})
    supervisor.start(stage("ingress", "ingress.started", "ingress"))  # no dispatcher: nothing will answer
    try:
        result = subprocess.run(
            clawbus("say", "hello?", "--url", f"http://127.0.0.1:{port}", "--timeout", "2"),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            env={**os.environ, **token},
        )
    finally:
        assert all(code == 0 for _, code in supervisor.stop_all())
    assert result.returncode == 1
    assert "no reply within 2s" in result.stderr
    assert "was accepted" in result.stderr
    assert "Traceback" not in result.stderr
