"""Every ops verb behaves the same: one set of deployment flags, one exit-code rule, one line per error.

Verbs run as a user runs them (`python -m clawbus.cli …`, a process of its own), with an environment
that holds nothing of this test run's AWS: no credentials at all, a dead endpoint, or only the data
directory a `clawbus up` recorded its endpoints in.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from clawbus.local.endpoints import LocalEndpoints, write_endpoints
from tests.conftest import CREDENTIALS_ENV, REGION, Bus
from tests.helpers import free_port, run_cli
from tests.ops.ops_cli import Ran, one_line_error

# One read-only action of each ops verb (state export writes only to a new directory of its own).
VERBS = {
    "status": ["status"],
    "dlq": ["dlq", "list"],
    "cron": ["cron", "list"],
    "pairing": ["pairing", "list"],
    "config": ["config", "show"],
    "state": ["state", "export", "{tmp}/export"],
    "route": ["route", "explain", "--channel", "telegram", "--peer", "42"],
}


def run(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> Ran:
    """`clawbus ARGS` with no AWS or CLAWBUS_* variable of ours: only `env` and a data dir of its own."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("CLAWBUS_", "AWS_"))}
    nowhere = {
        "AWS_CONFIG_FILE": str(data_dir / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(data_dir / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",  # no instance-metadata lookups for credentials
        "CLAWBUS_LOCAL__DATA_DIR": str(data_dir),
    }
    done = run_cli(list(args), {**keep, **nowhere, **(env or {})}, timeout=120)
    return Ran(done.returncode, done.stdout, done.stderr)


def verb(name: str, tmp_path: Path) -> list[str]:
    return [part.format(tmp=tmp_path) for part in VERBS[name]]


@pytest.mark.parametrize("name", sorted(VERBS))
def test_every_ops_verb_without_credentials_exits_2_with_one_line(name: str, tmp_path: Path) -> None:
    ran = run(tmp_path, *verb(name, tmp_path), "--aws", "--region", REGION)
    assert ran.code == 2, ran.err
    assert "credentials" in one_line_error(ran)


@pytest.mark.parametrize("name", sorted(VERBS))
def test_every_ops_verb_against_a_dead_endpoint_exits_2_with_one_line(name: str, tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    ran = run(tmp_path, *verb(name, tmp_path), "--endpoint-url", dead, env=CREDENTIALS_ENV)
    assert ran.code == 2, ran.err
    assert "cannot reach" in one_line_error(ran)


def test_json_errors_come_as_json(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    ran = run(tmp_path, "pairing", "list", "--json", "--endpoint-url", dead, env=CREDENTIALS_ENV)
    assert ran.code == 2
    assert "Traceback" not in ran.err
    assert "cannot reach" in ran.json()["error"]


def test_a_bad_interval_is_named_as_bad_input_before_anything_is_sent(tmp_path: Path) -> None:
    ran = run(tmp_path, "cron", "add", "--name", "x", "--every", "0m", "--message", "hi")
    assert ran.code == 2
    assert "argument --every: '0m' is not an interval" in ran.err
    assert "credentials" not in ran.err
    assert "Traceback" not in ran.err


def test_version_prints_the_installed_version(tmp_path: Path) -> None:
    ran = run(tmp_path, "--version")
    assert ran.code == 0
    assert ran.out.startswith("clawbus ")
    assert ran.out.split()[1][0].isdigit()


@pytest.mark.parametrize("name", sorted(VERBS))
def test_every_ops_verb_finds_the_recorded_up_without_flags(name: str, bus: Bus, tmp_path: Path) -> None:
    # `clawbus up` on non-default ports and its own prefix leaves this record; nothing else names them.
    write_endpoints(
        tmp_path,
        LocalEndpoints(
            aws_url=bus.endpoint,
            ingress_url="http://127.0.0.1:1",
            agentcore_url="http://127.0.0.1:1",
            agent_url="http://127.0.0.1:1",
            region=REGION,
            prefix=bus.prefix,
            pid=os.getpid(),
        ),
    )
    pair = {k: v for k, v in CREDENTIALS_ENV.items() if k.startswith("CLAWBUS_AWS__")}
    ran = run(tmp_path, *verb(name, tmp_path), env=pair)
    assert ran.code == 0, ran.err
    assert "Traceback" not in ran.err
